"""Data between the judge and the student's kernel, never pickled: a JSON document plus ``.npy``
arrays (read with ``allow_pickle=False``), sent as one Jupyter comm message and its buffers.

Values: None, bool, int, float, complex, str, and lists, tuples and dicts of them, NumPy arrays
and scalars of numeric or boolean dtype, torch tensors (sent as arrays), and handles: a reference
to an object that stays in the kernel (``{"t": "handle"}``) or to a name there (``{"t": "name"}``).
The kernel's side (``serve``) runs inside the sandbox and can be tampered with; all that can do is
change the data the judge then checks. The judge's side (``unpack``) treats a reply as hostile:
sizes checked before reading, numeric arrays only, nesting and counts bounded.
"""
import io

import numpy as np

MAX_BYTES = 16 * 1024 * 1024  # the arrays of one message (the executor accepts messages up to its output limit)
MAX_DEPTH = 32
MAX_ITEMS = 200_000
ARRAY_KINDS = "biufc"


class ReplyError(Exception):
    """The kernel's reply is missing, malformed or too large; the message says which."""


class Handles:
    """Objects kept on one side, by number, so that the other side can refer to them."""

    def __init__(self):
        self.objects, self.next = {}, 1

    def add(self, obj):
        key, self.next = self.next, self.next + 1
        self.objects[key] = obj
        return key


def encode(value, arrays, handle=None, depth=0):
    """JSON-able tree of ``value``; arrays are appended to ``arrays``. Objects that are not data
    become handles through ``handle(obj) -> dict`` (or raise TypeError when it is None)."""
    if depth > MAX_DEPTH:
        raise TypeError("the value is nested too deeply")
    if isinstance(value, np.generic) and value.dtype.kind in ARRAY_KINDS:
        arrays.append(np.asarray(value))
        return {"t": "scalar", "v": len(arrays) - 1}
    if value is None or type(value) in (bool, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return {"t": "int", "v": int.__repr__(int(value))}
    if isinstance(value, float):
        return {"t": "float", "v": float.__repr__(float(value))}
    if isinstance(value, complex):
        return {"t": "complex", "v": [float.__repr__(value.real), float.__repr__(value.imag)]}
    if isinstance(value, np.ndarray) and value.dtype.kind in ARRAY_KINDS:
        arrays.append(value)
        return {"t": "array", "v": len(arrays) - 1}
    if type(value).__module__.startswith("torch") and type(value).__name__ in ("Tensor", "Parameter"):
        arrays.append(value.detach().cpu().numpy())
        return {"t": "tensor", "v": len(arrays) - 1}
    if isinstance(value, (list, tuple)):
        return {"t": type(value).__name__ if type(value) in (list, tuple) else "list",
                "v": [encode(v, arrays, handle, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"t": "dict", "v": [[encode(k, arrays, handle, depth + 1), encode(v, arrays, handle, depth + 1)]
                                   for k, v in value.items()]}
    if handle is None:
        raise TypeError(f"a {type(value).__name__} is not data (numbers, strings, arrays and containers)")
    return handle(value)


class _Budget:
    def __init__(self):
        self.items = 0

    def count(self):
        self.items += 1
        if self.items > MAX_ITEMS:
            raise ReplyError(f"the reply holds more than {MAX_ITEMS} values")


def decode(tree, arrays, resolve=None, depth=0, budget=None):
    """The value of a tree made by ``encode``; ``resolve(tree) -> object`` for handles and names."""
    budget = budget or _Budget()
    budget.count()
    if depth > MAX_DEPTH:
        raise ReplyError(f"the reply is nested deeper than {MAX_DEPTH} levels")
    if tree is None or isinstance(tree, (bool, str)):
        return tree
    if not isinstance(tree, dict) or not isinstance(tree.get("t"), str):
        raise ReplyError(f"the reply holds a value of unknown form ({type(tree).__name__})")
    kind, v = tree["t"], tree.get("v")
    try:
        if kind == "int":
            if not isinstance(v, str) or len(v) > 4300:
                raise ReplyError("the reply holds a malformed integer")
            return int(v)
        if kind == "float":
            return float(v)
        if kind == "complex":
            return complex(float(v[0]), float(v[1]))
        if kind in ("array", "scalar", "tensor"):
            value = arrays[int(v)]
            if kind == "scalar":
                return value[()]
            if kind == "tensor":
                import torch

                return torch.from_numpy(value.copy())
            return value
        if kind in ("list", "tuple"):
            items = [decode(x, arrays, resolve, depth + 1, budget) for x in v]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            return {decode(k, arrays, resolve, depth + 1, budget): decode(x, arrays, resolve, depth + 1, budget)
                    for k, x in v}
    except ReplyError:
        raise
    except (TypeError, ValueError, IndexError, KeyError) as err:
        raise ReplyError(f"the reply holds a malformed {kind}: {type(err).__name__}") from None
    if kind in ("handle", "name") and resolve is not None:
        return resolve(tree)
    raise ReplyError(f"the reply holds a value of unknown kind {kind[:40]!r}")


def pack(document, arrays):
    """(document with the array count, [the arrays as .npy bytes]) for one message."""
    buffers = []
    for array in arrays:
        out = io.BytesIO()
        np.save(out, np.asarray(array), allow_pickle=False)
        buffers.append(out.getvalue())
    return {**document, "arrays": len(buffers)}, buffers


def unpack(document, buffers, resolve=None, limit=MAX_BYTES):
    """The values of a message made by ``pack``, checked: sizes before reading, numeric arrays only,
    bounded nesting; raises ReplyError saying what is wrong."""
    if not isinstance(document, dict) or not isinstance(document.get("arrays"), int):
        raise ReplyError("the reply is not a reply document")
    if document["arrays"] != len(buffers) or len(buffers) > 10_000:
        raise ReplyError(f"the reply lists {document['arrays']} arrays but carries {len(buffers)}")
    sizes = [memoryview(b).nbytes for b in buffers]
    if sum(sizes) > limit:
        raise ReplyError(f"the reply carries {sum(sizes)} bytes of arrays, more than the {limit} allowed")
    arrays = []
    for k, data in enumerate(buffers):
        try:
            array = np.load(io.BytesIO(bytes(data)), allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise ReplyError(f"array {k} of the reply cannot be read ({str(err)[:80]})") from None
        if not isinstance(array, np.ndarray) or array.dtype.kind not in ARRAY_KINDS or array.dtype.fields:
            raise ReplyError(f"array {k} of the reply is not numeric")
        arrays.append(array)
    try:
        return {key: decode(value, arrays, resolve) if key in ("value", "args") else value
                for key, value in document.items()}
    except RecursionError:
        raise ReplyError("the reply is nested too deeply") from None


def same(a, b):
    """Whether two data values are equal, arrays compared by value (NaN equal to NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and \
            np.array_equal(a, b, equal_nan=a.dtype.kind in "fc" and b.dtype.kind in "fc")
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b if isinstance(a, (bool, int, float, complex, str, type(None))) else a is b


# ---- the kernel's side: runs in the sandbox -------------------------------------------------

def _snapshot(value, depth=0):
    """A copy of an argument that the called code could change in place (an array, or a list or
    dict holding data), to notice the change; None for anything else."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if depth < MAX_DEPTH and type(value) in (list, dict):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        copies = {k: _snapshot(v, depth + 1) if type(v) in (np.ndarray, list, dict) else v for k, v in items}
        return copies if isinstance(value, dict) else list(copies.values())
    return None

TARGET = "mlcourse.judge"  # the comm the judge's requests arrive on
_HANDLES = Handles()


def listen(namespace):
    """Answer the judge's requests in this kernel, each on the comm ``TARGET``, in ``namespace``."""
    import comm

    def opened(channel, _):
        def on_msg(msg):
            reply, buffers = answer(msg["content"]["data"], msg.get("buffers") or [], namespace)
            channel.send(reply, buffers=buffers)
        channel.on_msg(on_msg)

    comm.get_comm_manager().register_target(TARGET, opened)


def answer(document, buffers, namespace):
    """(reply, buffers) for one request: call, look up or define what it asks in ``namespace``."""
    import warnings

    def resolve(tree):
        if tree["t"] == "name":
            return namespace[tree["v"]]
        return _HANDLES.objects[int(tree["v"])]

    def handle(obj):
        return {"t": "handle", "v": _HANDLES.add(obj), "type": type(obj).__name__, "callable": callable(obj)}

    reply, arrays = {}, []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            request = unpack(document, buffers, resolve)
            op, target = request["op"], request.get("value")
            if op == "define":
                scope = {"__builtins__": __builtins__, "np": np}
                exec(compile(request["source"], f"<instructor code {request['name']}>", "exec"), scope)
                value = scope[request["name"]]
            elif op == "get":
                value = namespace[request["name"]]
            elif op == "getattr":
                value = getattr(target, request["attr"])
            elif op == "calls":  # [function, args, kwargs, indices] each: the probes of a numerical gradient
                value = []
                for func, args, kwargs, indices in request["args"]:
                    result = func(*args, **kwargs)
                    for key in indices:
                        result = result[key]
                    value.append(result)
            else:  # call
                args, kwargs = request["args"]
                before = [_snapshot(a) for a in args]
                value = target(*args, **kwargs)
                changed = {str(i): a for i, (a, b) in enumerate(zip(args, before)) if b is not None and not same(a, b)}
                if changed:
                    reply["args"] = encode(changed, arrays, handle)
            reply["value"] = encode(value, arrays, handle)
        except Exception as err:  # the student's error, reported as data
            reply, arrays = {"error": [type(err).__name__, str(err)[:2000]]}, []
    reply["warnings"] = [[w.category.__name__, str(w.message)[:500]] for w in caught[:20]]
    try:
        document, buffers = pack(reply, arrays)
        size = sum(len(b) for b in buffers)
        if size > MAX_BYTES:
            raise ValueError(f"it holds {size} bytes of arrays, more than the {MAX_BYTES} a reply may carry")
        return document, buffers
    except Exception as err:
        return pack({"error": [type(err).__name__, f"the value cannot be sent back: {str(err)[:500]}"]}, [])
