#!/usr/bin/env node
// Sends evaluation phrases through Bespoken's virtual-alexa, one new person per phrase.
//
//   node utter_each.js <skill URL> <interaction model file>  < cases.jsonl
//
// Each input line is {"id", "path": [utterances that reach the stage], "phrase"}. For each, a new
// VirtualAlexa device launches the skill, says the path, then the phrase; virtual-alexa picks the
// intent with its own sample matcher (so a phrase no sample covers shows up as such). One output line
// per case: {"id", "intent", "slots", "ssml", "shouldEndSession"} for the phrase's turn.
"use strict";

const { blocked } = require("./loopback_only");
const readline = require("readline");
const { VirtualAlexa } = require("virtual-alexa");

const [skillURL, modelFile] = process.argv.slice(2);
if (!skillURL || !modelFile) {
  process.stderr.write("usage: node utter_each.js <skill URL> <interaction model file> < cases.jsonl\n");
  process.exit(2);
}

async function one(item) {
  const alexa = VirtualAlexa.Builder()
    .interactionModelFile(modelFile)
    .skillURL(skillURL)
    .locale("en-US")
    .applicationID("amzn1.ask.skill.virtual-alexa-eval")
    .create();
  let sent = null;
  alexa.filter((request) => {
    sent = JSON.parse(JSON.stringify(request));
  });
  await alexa.launch();
  for (const say of item.path) await alexa.utter(say);
  let reply;
  try {
    reply = await alexa.utter(item.phrase);
  } catch (error) {
    // virtual-alexa throws when no sample matches at all: what Alexa would send as a fallback.
    return { id: item.id, intent: null, error: String(error && error.message), ssml: null, shouldEndSession: null };
  }
  const request = sent.request;
  const slots = {};
  for (const [name, slot] of Object.entries((request.intent && request.intent.slots) || {})) {
    if (slot.value !== undefined) slots[name] = slot.value;
  }
  const response = reply.response || {};
  return {
    id: item.id,
    intent: request.intent ? request.intent.name : request.type,
    slots,
    ssml: response.outputSpeech ? response.outputSpeech.ssml : null,
    shouldEndSession: response.shouldEndSession === undefined ? null : response.shouldEndSession,
  };
}

async function main() {
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    process.stdout.write(JSON.stringify(await one(JSON.parse(line))) + "\n");
  }
}

main().then(
  () => process.exit(blocked.length ? 3 : 0),
  (error) => {
    process.stderr.write(`utter_each.js: ${error && error.stack ? error.stack : error}\n`);
    process.exit(blocked.length ? 3 : 1);
  },
);
