"""The HTTP side of the skill: request verification and the /alexa endpoint."""
