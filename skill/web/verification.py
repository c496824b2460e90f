"""PLACEHOLDER — to be replaced by the verification work (see helper brief).

Contract: build_verifiers(config) -> list of ask_sdk_webservice_support AbstractVerifier;
VerificationException re-exported from ask_sdk_webservice_support.verifier.
"""
from ask_sdk_runtime.exceptions import AskSdkException


class VerificationException(AskSdkException):
    pass


def build_verifiers(config):
    return []
