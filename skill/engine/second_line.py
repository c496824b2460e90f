"""The second line behind the phrase lists: free words that no phrase of red_flags.yaml matched, compared
with each red flag's ``examples`` (everyday phrasings a clinician reviews) by a small sentence-embedding model.

"my tummy's killing me and it goes right through to my back", said when the lists find nothing, is close to
t1_belly_back's examples: ``guess`` returns ``SignGuess("t1_belly_back", 1, 0.83)`` and the guide asks one
confirming question that names the sign. The lists stay first and decide alone whenever they read the words.

The model: wordllama's ``l2_supercat_256`` (a static embedding table, 32,000 tokens x 256 dimensions, float16,
16 MB, and its tokenizer), read straight from the files the wordllama wheel installs, in pure Python. Nothing is
downloaded, and wordllama's own code is never imported: with numpy, tokenizers and pydantic it would take the
Lambda artefact to about 48 MB of its 50, and its tokenizer holds the interpreter's lock for about 200 ms while
loading (evaluation/README.md, "The second line", has the figures). An utterance's vector is the mean of its
tokens' rows, normalised (``WordLlama.embed(norm=True)``; tests/test_second_line.py checks both the tokens and
the vectors), cut to the first DIMENSIONS values; its similarity to an example is the dot product of the two.

Static embeddings link words, not meanings (/work/shared/reference/traps.md): "no fever" is close to "a
fever". So before the words are compared:
- a red flag the lists found and set aside (negated, long ago, an animal's, someone else's, ``unless``) leaves
  the words to the lists: no guess at all; and a guess is dropped when its flag's own ``past``, ``unless`` or
  ``someone_else`` words are said ("i am trying to lose weight");
- the words a negation cue covers, by the matcher's own rule (triage.py ``prepared``), and the cue itself,
  are dropped ("no numbness in my legs but it wakes me up at night" is compared as "but it wakes me up at
  night"), and so are the matcher's stop words, which every phrasing shares;
- what is left is compared whole and sentence by sentence (a mean over a long turn blurs one sign in it).

A guess is made only when the words are close enough to a flag's examples (``threshold``) AND nearer them, by
``margin``, than to anything of red_flags.yaml's ``no_sign_examples`` ("i can feel my legs fine", "i need the
toilet": words a sign shares).

Loading takes about a tenth of a second, so the app starts it in a background thread (``start_loading``):
until ``ready``, ``guess`` answers None at once and the lists answer alone. A red flag never waits on it.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import mmap
import operator
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from skill.engine.triage import BOUNDARY, RedFlags, default_red_flags, prepared

log = logging.getLogger(__name__)

# The files of wordllama's default model, inside its installed package folder.
MODEL_PACKAGE = "wordllama"
WEIGHTS_FILE = Path("weights") / "l2_supercat_256.safetensors"
TOKENIZER_FILE = Path("tokenizers") / "l2_supercat_tokenizer_config.json"

# The first DIMENSIONS values of each 256-value row: the model was trained to keep its meaning in its first 64, 128
# and 256 (matryoshka); 64 separates the development phrases about as well as 256 (evaluation/README.md) and
# makes a guess four times cheaper in pure Python.
DIMENSIONS = 64
# A tier-1 flag this close to the closest tier-2 one is the guess (the safe direction: its question names the
# graver sign, and a yes gets the emergency answer).
TIER_1_WITHIN = 0.03
WORDS_REMEMBERED = 20_000  # the tokenizer's cache of each word's tokens, at most
# Close enough to ask: tuned on the development phrases only (evaluation/second_line.py prints the figures
# for other thresholds beside this one).
DEFAULT_THRESHOLD = 0.62
# ... and nearer the sign's examples than anything of red_flags.yaml's no_sign_examples by this much.
DEFAULT_MARGIN = 0.05
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


class Tokenizer:
    """The model's own tokenizer (Llama's byte-pair encoding, as its tokenizer file describes it), in pure Python:
    the tokenizers library parses that file in about 200 ms holding the interpreter's lock, which would stall the
    requests answered meanwhile. Each word is "▁" + the word, merged pair by pair, the lowest-ranked merge
    first; a character not in the vocabulary falls back to its UTF-8 bytes. tests/test_second_line.py checks
    the ids against the tokenizers library on every development phrase."""

    SPACE = "▁"

    def __init__(self, vocabulary: dict, merges: list):
        self.vocabulary = vocabulary
        # "a b" -> its rank (the file's merges are "a b" strings, or [a, b] pairs in newer files)
        self.ranks = dict(zip((m if isinstance(m, str) else " ".join(m) for m in merges), range(len(merges))))
        self.unknown = vocabulary.get("<unk>", 0)
        self._words: dict[str, list[int]] = {}  # each word's ids, worked out once

    @classmethod
    def from_file(cls, path: Path) -> "Tokenizer":
        model = json.loads(path.read_text(encoding="utf-8"))["model"]
        if model.get("type") != "BPE":
            raise ValueError(f"{path.name}: expected a byte-pair encoding, found {model.get('type')}")
        return cls(model["vocab"], model["merges"])

    def ids(self, text: str) -> list[int]:
        found = []
        for word in text.split():
            if word not in self._words:
                if len(self._words) >= WORDS_REMEMBERED:  # (a long-lived server hears ever new words)
                    self._words.clear()
                self._words[word] = self._encode(self.SPACE + word)
            found.extend(self._words[word])
        return found

    def _encode(self, word: str) -> list[int]:
        parts = list(word)
        while len(parts) > 1:
            rank, i = min((self.ranks.get(f"{a} {b}", math.inf), i) for i, (a, b) in enumerate(zip(parts, parts[1:])))
            if rank == math.inf:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        ids = []
        for part in parts:
            if part in self.vocabulary:
                ids.append(self.vocabulary[part])
            else:  # byte fallback
                ids.extend(self.vocabulary.get(f"<0x{byte:02X}>", self.unknown) for byte in part.encode("utf-8"))
        return ids


class StaticEmbedder:
    """Sentence vectors from a static token-embedding table: the mean of the tokens' rows (their first
    ``dimensions``), normalised. Pure Python over the mapped file: numpy and the tokenizers library would more
    than double the Lambda artefact (evaluation/README.md, "The second line")."""

    def __init__(self, weights, offset: int, width: int, tokenizer: Tokenizer, dimensions: int = DIMENSIONS):
        self.weights = weights  # the safetensors file, mapped: rows of ``width`` little-endian float16
        self.offset = offset  # where the first row starts
        self.width = width
        self.dimensions = dimensions
        self.row = struct.Struct(f"<{dimensions}e")
        self.tokenizer = tokenizer

    @classmethod
    def from_files(cls, folder: Path | None = None, dimensions: int = DIMENSIONS) -> "StaticEmbedder":
        folder = folder or model_folder()
        with open(folder / WEIGHTS_FILE, "rb") as file:
            weights = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)  # pages read as tokens need them
        # safetensors: an 8-byte little-endian header length, a JSON header, then the raw tensor.
        header_length = struct.unpack_from("<Q", weights)[0]
        tensor = json.loads(weights[8:8 + header_length])["embedding.weight"]
        rows, width = tensor["shape"]
        if tensor["dtype"] != "F16" or not dimensions <= width:
            raise ValueError(f"{WEIGHTS_FILE}: expected float16 rows of at least {dimensions} values, found {tensor}")
        return cls(weights, 8 + header_length + tensor["data_offsets"][0], width,
                   Tokenizer.from_file(folder / TOKENIZER_FILE), dimensions)

    def embed(self, text: str) -> tuple:
        """The normalised mean of the rows of ``text``'s tokens (all zeros for no tokens)."""
        total = [0.0] * self.dimensions
        for token in self.tokenizer.ids(text):
            total = list(map(operator.add, total, self.row.unpack_from(self.weights, self.offset + token * self.width * 2)))
        norm = math.sqrt(sum(map(operator.mul, total, total))) or 1.0
        return tuple(value / norm for value in total)


def similarity(a: tuple, b: tuple) -> float:
    """Of two normalised vectors: their cosine."""
    return sum(map(operator.mul, a, b))


class SecondLine:
    """Each tier-1 and tier-2 red flag's examples, embedded once; ``guess`` compares free words with them."""

    def __init__(self, red_flags: RedFlags | None = None, threshold: float = DEFAULT_THRESHOLD,
                 margin: float = DEFAULT_MARGIN, folder: Path | None = None):
        self.red_flags = red_flags or default_red_flags()
        self.threshold = threshold
        self.margin = margin
        self.folder = folder
        self._loaded = threading.Event()
        self._loading = threading.Lock()
        self._embedder: StaticEmbedder | None = None
        self._examples = None  # one normalised vector a row
        self._owners: list[str] = []  # the flag id of each row
        self._tiers: list[int] = []  # and its tier
        self._no_signs: list[tuple] = []  # red_flags.yaml's no_sign_examples, embedded
        self.load_error: Exception | None = None
        self.load_seconds: float | None = None  # how long ``load`` took (measurements)

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
            started = time.perf_counter()
            embedder = StaticEmbedder.from_files(self.folder)
            owners, texts = [], []
            for flag_id in self.red_flags.ids():
                if self.red_flags.tier_of(flag_id) in (1, 2):
                    for example in self.red_flags.examples_of(flag_id):
                        owners.append(flag_id)
                        texts.append(self.compared_words(example))
            self._examples = [embedder.embed(text) for text in texts]
            self._no_signs = [embedder.embed(self.compared_words(text)) for text in self.red_flags.no_sign_examples]
            self._owners = owners
            self._tiers = [self.red_flags.tier_of(owner) for owner in owners]
            self._embedder = embedder
            self.load_seconds = round(time.perf_counter() - started, 3)
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

    def weigh(self, text: str) -> tuple[SignGuess | None, float]:
        """The flag whose examples are closest to ``text`` however far, and how close the nearest thing said that
        is no sign comes (for guessing, measuring and tuning). (None, 0.0) when there is nothing to compare."""
        candidates = self.candidates(text) if self.ready else []
        if not candidates:
            return None, 0.0
        vectors = [self._embedder.embed(candidate) for candidate in candidates]
        scores = [max(similarity(vector, example) for vector in vectors) for example in self._examples]
        score, row = max(zip(scores, range(len(scores))))
        # safety: a tier-1 sign nearly as close as a tier-2 one is asked about instead ("suddenly my tummy is in
        # agony and it goes right through to my back": t1_belly_back, not t2_belly_spread).
        severe = max(((s, r) for s, r in zip(scores, range(len(scores))) if self._tiers[r] == 1), default=None)
        if severe is not None and severe[0] >= score - TIER_1_WITHIN:
            score, row = severe
        ordinary = max((similarity(vector, example) for vector in vectors for example in self._no_signs), default=0.0)
        flag_id = self._owners[row]
        return SignGuess(flag_id=flag_id, tier=self.red_flags.tier_of(flag_id), similarity=round(score, 3)), ordinary

    def close_enough(self, found: SignGuess | None, ordinary: float, threshold: float, margin: float) -> bool:
        return found is not None and found.similarity >= threshold and found.similarity - ordinary >= margin

    def guess(self, text: str) -> SignGuess | None:
        """A red flag the words may describe, or None: not loaded yet, the lists read these words (they decide
        alone), or nothing close enough. Never waits on the loading."""
        if not self.ready or self.red_flags.explain(text):
            return None
        found, ordinary = self.weigh(text)
        if not self.close_enough(found, ordinary, self.threshold, self.margin) or \
                self.red_flags.set_aside(found.flag_id, text):
            return None
        return found
