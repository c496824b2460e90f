#!/usr/bin/env node
// Drives the running skill through Bespoken's virtual-alexa, a client written by others.
//
//   node drive.js <skill URL> <interaction model file>
//
// virtual-alexa reads the interaction model itself, turns each utterance into an intent with its own
// sample matcher (virtual-core), builds the Alexa request envelope (session, user, attributes echoed
// from the last response) and POSTs it to the skill URL. For every turn this prints one JSON line:
//   {"who", "say", "type", "intent", "slots", "newSession", "userId", "ssml", "shouldEndSession"}
// where type to userId are what virtual-alexa sent, and ssml and shouldEndSession what the skill said.
// A connection to anything but the loopback interface fails the run (exit status 3), so no request
// of virtual-alexa's, the AWS SDK's or nock's can leave the machine unnoticed.
"use strict";

const { blocked } = require("./loopback_only");

const { VirtualAlexa } = require("virtual-alexa");

const [skillURL, modelFile] = process.argv.slice(2);
if (!skillURL || !modelFile) {
  process.stderr.write("usage: node drive.js <skill URL> <interaction model file>\n");
  process.exit(2);
}

function newAlexa() {
  // A new VirtualAlexa is a new device with a new random user id, so a new person for the skill.
  const alexa = VirtualAlexa.Builder()
    .interactionModelFile(modelFile)
    .skillURL(skillURL)
    .locale("en-US")
    .applicationID("amzn1.ask.skill.virtual-alexa-check")
    .create();
  alexa.filter((request) => {
    alexa.lastRequest = JSON.parse(JSON.stringify(request));
  });
  return alexa;
}

async function turn(who, alexa, say) {
  const reply = say === null ? await alexa.launch() : await alexa.utter(say);
  const sent = alexa.lastRequest;
  const request = sent.request;
  const slots = {};
  for (const [name, slot] of Object.entries((request.intent && request.intent.slots) || {})) {
    if (slot.value !== undefined) slots[name] = slot.value;
  }
  const response = reply.response || {};
  const line = {
    who,
    say,
    type: request.type,
    intent: request.intent ? request.intent.name : null,
    slots,
    newSession: sent.session ? sent.session.new : null,
    userId: sent.session ? sent.session.user.userId : null,
    ssml: response.outputSpeech ? response.outputSpeech.ssml : null,
    shouldEndSession: response.shouldEndSession === undefined ? null : response.shouldEndSession,
  };
  process.stdout.write(JSON.stringify(line) + "\n");
}

async function main() {
  // First person: opens the skill, answers the five safety questions, takes two steps, then
  // volunteers a red flag mid-guide.
  const first = newAlexa();
  await turn("first", first, null);
  for (let i = 0; i < 5; i += 1) await turn("first", first, "no");
  await turn("first", first, "yes");
  await turn("first", first, "i can't feel my legs");

  // Second person, new session: a one-shot. virtual-alexa reads "ask <invocation> to <utterance>"
  // as a one-shot (anything else starting with ask/open/tell is a plain launch).
  const second = newAlexa();
  await turn("second", second, "ask back spasm coach to help me with my back spasm");
  await turn("second", second, "i'm not sure");
}

main().then(
  () => process.exit(blocked.length ? 3 : 0),
  (error) => {
    if (error && error.name === "NetConnectNotAllowedError") blocked.push(String(error.message));
    process.stderr.write(`drive.js: ${error && error.stack ? error.stack : error}\n`);
    process.exit(blocked.length ? 3 : 1);
  },
);
