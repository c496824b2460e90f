"""The second line behind the phrase lists: free words that no phrase of red_flags.yaml matched, compared
with each red flag's ``examples`` (everyday phrasings a clinician reviews) by a small sentence-embedding model.

"my tummy's killing me and it goes right through to my back", said when the lists find nothing, is close to
t1_belly_back's examples: ``guess`` returns ``SignGuess("t1_belly_back", 1, 0.83)`` and the guide asks one
confirming question that names the sign. The lists stay first and decide alone whenever they read the words.

The model: wordllama's ``l2_supercat_256`` (a static embedding table, 32,000 tokens x 256 dimensions, float16,
16 MB, and its tokenizer), read straight from the files the wordllama wheel installs. Nothing is downloaded,
and wordllama's own code is never imported: it needs pydantic, requests and toml only to find and configure
those files, which doubles the cold start and the Lambda artefact (evaluation/second_line.py measures both).
An utterance's vector is the mean of its tokens' rows, normalised (exactly ``WordLlama.embed(norm=True)``;
tests/test_second_line.py checks it); its similarity to an example is the dot product of the two.

Static embeddings link words, not meanings (/work/shared/reference/traps.md): "no fever" is close to "a
fever". So before the words are compared:
- a red flag the lists found and set aside (negated, long ago, an animal's, someone else's, ``unless``) leaves
  the words to the lists: no guess at all; and a guess is dropped when its flag's own ``past``, ``unless`` or
  ``someone_else`` words are said ("i am trying to lose weight");
- the words a negation cue covers, by the matcher's own rule (triage.py ``prepared``), and the cue itself,
  are dropped ("no numbness in my legs but it wakes me up at night" is compared as "but it wakes me up at
  night"), and so are the matcher's stop words, which every phrasing shares;
- what is left is compared whole and sentence by sentence (a mean over a long turn blurs one sign in it).

Loading takes a few hundred milliseconds, so the app starts it in a background thread (``start_loading``):
until ``ready``, ``guess`` answers None at once and the lists answer alone. A red flag never waits on it.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

from skill.engine.triage import BOUNDARY, RedFlags, default_red_flags, prepared

log = logging.getLogger(__name__)

# The files of wordllama's default model, inside its installed package folder.
MODEL_PACKAGE = "wordllama"
WEIGHTS_FILE = Path("weights") / "l2_supercat_256.safetensors"
TOKENIZER_FILE = Path("tokenizers") / "l2_supercat_tokenizer_config.json"

# Close enough to ask: tuned on the development phrases only (evaluation/second_line.py prints the figures
# for other thresholds beside this one).
DEFAULT_THRESHOLD = 0.62
# Stop words that carry the sign here, kept although the matcher never anchors a phrase on them: "cannot pee",
# "cannot sleep for the pain".
KEPT_STOP_WORDS = frozenset({"cannot"})
# Fewer words than this, once negated and stop words are gone, say too little to compare ("hot", "ouch").
MIN_WORDS = 2


@dataclass(frozen=True)
class SignGuess:
    """The red flag the words are closest to, when close enough: the guide asks before acting on it."""

    flag_id: str  # a red_flags.yaml id, tier 1 or 2
    tier: int
    similarity: float


def model_folder() -> Path:
    """The installed wordllama package's folder, found without importing it (its __init__ imports pydantic)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the {MODEL_PACKAGE} package is not installed: its files hold the second line's model")
    return Path(list(spec.submodule_search_locations)[0])


class StaticEmbedder:
    """Sentence vectors from a static token-embedding table: the mean of the tokens' rows, normalised."""

    def __init__(self, table, tokenizer):
        self.table = table  # numpy float32, one row per token id
        self.tokenizer = tokenizer

    @classmethod
    def from_files(cls, folder: Path | None = None) -> "StaticEmbedder":
        import numpy
        from tokenizers import Tokenizer

        folder = folder or model_folder()
        raw = (folder / WEIGHTS_FILE).read_bytes()
        # safetensors: an 8-byte little-endian header length, a JSON header, then the raw tensor.
        header_length = struct.unpack("<Q", raw[:8])[0]
        tensor = json.loads(raw[8:8 + header_length])["embedding.weight"]
        if tensor["dtype"] != "F16":
            raise ValueError(f"{WEIGHTS_FILE}: expected float16 weights, found {tensor['dtype']}")
        begin, end = (8 + header_length + offset for offset in tensor["data_offsets"])
        table = numpy.frombuffer(raw, dtype="<f2", count=(end - begin) // 2, offset=begin)
        table = table.reshape(tensor["shape"]).astype(numpy.float32)
        return cls(table, Tokenizer.from_file(str(folder / TOKENIZER_FILE)))

    def embed(self, texts: list[str]):
        import numpy

        vectors = numpy.zeros((len(texts), self.table.shape[1]), dtype=numpy.float32)
        for row, encoding in enumerate(self.tokenizer.encode_batch(texts, add_special_tokens=False)):
            if encoding.ids:
                vectors[row] = self.table[encoding.ids].mean(axis=0)
        norms = numpy.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / numpy.where(norms == 0, 1, norms)


class SecondLine:
    """Each tier-1 and tier-2 red flag's examples, embedded once; ``guess`` compares free words with them."""

    def __init__(self, red_flags: RedFlags | None = None, threshold: float = DEFAULT_THRESHOLD,
                 folder: Path | None = None):
        self.red_flags = red_flags or default_red_flags()
        self.threshold = threshold
        self.folder = folder
        self._loaded = threading.Event()
        self._loading = threading.Lock()
        self._embedder: StaticEmbedder | None = None
        self._examples = None  # one normalised vector a row
        self._owners: list[str] = []  # the flag id of each row
        self.load_error: Exception | None = None

    # -- loading
    def start_loading(self) -> None:
        """Load in a background thread and return at once; until then ``guess`` answers None."""
        threading.Thread(target=self._load_logged, name="second-line-load", daemon=True).start()

    def _load_logged(self) -> None:
        try:
            self.load()
        except Exception as exc:  # the lists go on alone: a missing model must not take the skill down
            self.load_error = exc
            log.exception("the second line could not load; the phrase lists answer alone")

    def load(self) -> None:
        """Load the model and embed the examples (blocking; a second call does nothing)."""
        with self._loading:
            if self._loaded.is_set():
                return
            embedder = StaticEmbedder.from_files(self.folder)
            owners, texts = [], []
            for flag_id in self.red_flags.ids():
                if self.red_flags.tier_of(flag_id) in (1, 2):
                    for example in self.red_flags.examples_of(flag_id):
                        owners.append(flag_id)
                        texts.append(self.compared_words(example))
            self._examples = embedder.embed(texts)
            self._owners = owners
            self._embedder = embedder
            self._loaded.set()

    @property
    def ready(self) -> bool:
        return self._loaded.is_set()

    # -- guessing
    def compared_words(self, text: str) -> str:
        """The words that are compared, sentence by sentence: what no negation covers, without stop words."""
        words = self.red_flags.matcher_words
        subject, _, negators = prepared(text, words)
        kept = []
        for token, cue in zip(subject.split(), negators):
            if token == BOUNDARY:
                if kept and kept[-1] != BOUNDARY:
                    kept.append(BOUNDARY)
            elif cue is None and token not in words.negation_cues and (token not in words.stop_words or token in KEPT_STOP_WORDS):
                kept.append(token)
        return " ".join(kept).strip(f" {BOUNDARY}")

    def candidates(self, text: str) -> list[str]:
        """What is compared: the words whole, and each sentence of them alone."""
        compared = self.compared_words(text)
        sentences = [s.strip() for s in compared.split(f" {BOUNDARY} ")] if compared else []
        whole = " ".join(s for s in sentences if s)
        found = [whole] + [s for s in sentences if s != whole]
        return [c for c in found if len(c.split()) >= MIN_WORDS]

    def closest(self, text: str) -> SignGuess | None:
        """The flag whose examples are closest to ``text``, however far (for measuring and tuning)."""
        if not self.ready:
            return None
        candidates = self.candidates(text)
        if not candidates:
            return None
        scores = self._embedder.embed(candidates) @ self._examples.T
        best = scores.max(axis=0)
        row = int(best.argmax())
        flag_id = self._owners[row]
        return SignGuess(flag_id=flag_id, tier=self.red_flags.tier_of(flag_id), similarity=round(float(best[row]), 3))

    def guess(self, text: str) -> SignGuess | None:
        """A red flag the words may describe, or None: not loaded yet, the lists read these words (they decide
        alone), or nothing close enough. Never waits on the loading."""
        if not self.ready or self.red_flags.explain(text):
            return None
        found = self.closest(text)
        if found is None or found.similarity < self.threshold or self.red_flags.set_aside(found.flag_id, text):
            return None
        return found
