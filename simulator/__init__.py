"""A local Alexa simulator for the skill: it talks to the skill the way Alexa does."""
