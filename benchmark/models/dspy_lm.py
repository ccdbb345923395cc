"""A dspy language model whose every call goes through prbench's model layer (`Models.chat()`).

DSPy programs, signatures and optimizers (the SynthesizeMe authors' code, for one) then run unchanged while
prbench keeps what it gives every method: the request cache, the usage meter, retries and bounded concurrency
of network backends, the coalescer of local engines (transformers, in-process vLLM), counted failures.
DSPy hands `__call__` the chat messages its adapter built; they are sent as they are, one request per call.

What follows dspy's own `dspy.LM`: `temperature` and `max_tokens` from `kwargs` (its defaults 0.0 and 1000;
pass the reference's 4096), a failed request raises (a prompt over the backend's `max_prompt_tokens`
raises litellm's `ContextWindowExceededError`, as a server's refusal does through LiteLLM, so dspy's
ChatAdapter does not retry it with its JSON adapter). What differs: dspy's own caches are never used (its
in-memory LRU and LiteLLM's disk cache: prbench's request cache sees every call), `response_format`
(dspy's JSON fallback) is not forwarded (prbench's backends have no constrained decoding; a stand-in or a
server ignoring it answers the same), `n` > 1 is refused, and no call history is kept.

`prbench_context(lm)` is the `dspy.context` prbench's calls run under: it also silences dspy's chatter in those
threads only (many users' optimizers run at once), and skips building a pydantic TypeAdapter for each string
dspy formats into a prompt (the same text; two thirds of a SynthesizeMe fit's CPU went there).

Importing this module needs the `reference` extra (dspy). It fetches nothing: LiteLLM's model-cost map is
read from the installed package, and dspy's disk cache folder is under prbench's cache folder.
"""

from __future__ import annotations

import contextvars
import copy
import logging
import os
import sys

from benchmark.models.base import ChatModel, GenerationParams
from benchmark.models.packaged import cache_dir
from benchmark.records import Message

# Both are read when dspy / litellm are first imported.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # else litellm GETs the map from GitHub at import
os.environ.setdefault("DSPY_CACHEDIR", str(cache_dir() / "dspy"))  # dspy creates its (unused here) disk cache

import dspy  # noqa: E402
import dspy.adapters.utils as dspy_adapter_utils  # noqa: E402
from litellm import ContextWindowExceededError  # noqa: E402

TOO_LONG = ("over max_prompt_tokens", "maximum context length", "context_length_exceeded")


class LMCallFailed(RuntimeError):
    """The model layer gave no answer (the error it counted is the message)."""


class PrbenchLM(dspy.BaseLM):
    """`dspy.BaseLM` over a `ModelLayer`. Make one per user (or per judged item) in the thread whose usage
    meter should count its calls: the calls made from dspy's worker threads are metered there too."""

    def __init__(self, chat: ChatModel, model: str | None = None, *, temperature: float = 0.0,
                 max_tokens: int = 1000, seed: int = 0):
        # "prbench/<name>": an unknown LiteLLM provider, so dspy's JSON adapter sends no response_format,
        # as it does for the reference's `litellm_proxy/<model>` (a local server).
        super().__init__(model=model or f"prbench/{chat.name}", model_type="chat", temperature=temperature,
                         max_tokens=max_tokens, cache=False)
        self.chat, self.seed, self.last_text = chat, seed, None  # last_text: the last answer (for failures)
        self._context = contextvars.copy_context()  # the creating thread's usage meter

    def __call__(self, prompt: str | None = None, messages: list[dict] | None = None, **kwargs) -> list[str]:
        messages = messages or [{"role": "user", "content": prompt}]
        options = {**self.kwargs, **kwargs}
        if int(options.get("n") or 1) != 1:
            raise ValueError("PrbenchLM answers one completion per call (n=1)")
        params = GenerationParams(max_new_tokens=int(options["max_tokens"]),
                                  temperature=float(options.get("temperature") or 0.0), seed=self.seed)
        chat = [Message(m["role"], m["content"]) for m in messages]
        (out,) = self._context.copy().run(self.chat.generate, [chat], params)
        if out.error is not None:
            if any(marker in out.error for marker in TOO_LONG):
                raise ContextWindowExceededError(out.error, model=self.model, llm_provider="prbench")
            raise LMCallFailed(out.error)
        self.last_text = out.text
        return [out.text]

    def copy(self, **kwargs) -> PrbenchLM:
        """dspy's `copy` deep-copies the LM; this one shares the model layer (and the usage meter)."""
        new = copy.copy(self)
        new.kwargs, new.history = dict(self.kwargs), []
        for key, value in kwargs.items():
            if key in ("seed", "model"):
                setattr(new, key, value)
            else:
                new.kwargs[key] = value
        return new

    def __deepcopy__(self, memo) -> PrbenchLM:
        return self.copy()

    def dump_state(self) -> dict:
        return {"model": self.model, **self.kwargs}


QUIET = "prbench_quiet"  # dspy settings: dspy hands a thread's settings to the worker threads it starts
FAST = "prbench_fast_format"
_serialize_for_json = dspy_adapter_utils.serialize_for_json


def _fast_serialize_for_json(value):
    """dspy's `serialize_for_json`, without building a pydantic TypeAdapter for a plain string, whose JSON form
    is the string itself (`TypeAdapter(str).dump_python(s, mode="json") == s`). dspy formats every field of
    every demonstration of every prompt through it, cache hits included: two thirds of the CPU of a
    SynthesizeMe fit went to building those adapters (measured with yappi, 4 demo users). Only under
    `prbench_context` (prbench's calls); elsewhere, and for any other type, dspy's own function runs."""
    if type(value) is str and dspy.settings.get(FAST, False):
        return value
    return _serialize_for_json(value)


dspy_adapter_utils.serialize_for_json = _fast_serialize_for_json  # format_field_value looks it up at each call


def _quiet_now() -> bool:
    return bool(dspy.settings.get(QUIET, False))


class _QuietStream:
    """A stream that drops what quiet threads write (dspy's and its callers' prints and progress bars)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        return len(text) if _quiet_now() else self.stream.write(text)

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


class _QuietFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _quiet_now()


def prbench_context(lm: PrbenchLM, quiet: bool = True):
    """`dspy.context` for prbench's calls: `lm`, strings formatted without a TypeAdapter each (same text), and,
    with `quiet`, nothing printed or logged by this thread and the worker threads dspy starts from it (other
    threads, prbench's progress bar included, print as before): many users' optimizers run at once, and their
    interleaved chatter (scores, progress bars) would drown the run's own output."""
    if quiet:
        for name in ("stdout", "stderr"):  # tqdm writes to stderr, print to stdout
            if not isinstance(getattr(sys, name), _QuietStream):
                setattr(sys, name, _QuietStream(getattr(sys, name)))
        for handler in logging.getLogger("dspy").handlers:
            if not any(isinstance(f, _QuietFilter) for f in handler.filters):
                handler.addFilter(_QuietFilter())
    return dspy.context(lm=lm, **{QUIET: quiet, FAST: True})


__all__ = ["LMCallFailed", "PrbenchLM", "dspy", "prbench_context"]
