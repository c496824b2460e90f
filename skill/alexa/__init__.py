"""The Alexa side: ask-sdk handlers, interceptors and the renderer from engine plans to responses."""
