"""Reading the contracts' logs fast, for the indexer: ``eth_getLogs`` and the blocks'
timestamps and hashes without web3's result formatters (one JSON-RPC batch for all the
blocks of a range, not one request each), and each log decoded with the codec directly from
a table made once per run (topic0 → the event's types and names) instead of web3's
``process_log``, which looks the ABI up and builds its result objects for every log. The
args are web3's, value for value and in its order (indexed arguments first), as
tests/backend/test_backend_indexer_decode.py checks for every event the indexer stores."""
from eth_utils import event_abi_to_log_topic

from .client import _abi_type, _post, checksum, light_log, raw_request
from .errors import ChainError

BLOCKS_PER_BATCH = 500  # blocks asked in one JSON-RPC batch request


class EventDecoder:
    """One event's argument types and names, split as the log carries them: the indexed
    ones in topics 1…, the others ABI-encoded in the data."""

    def __init__(self, contract, entry):
        self.contract, self.name = contract, entry["name"]
        inputs = entry.get("inputs", [])
        self.indexed = [i for i in inputs if i.get("indexed")]
        self.unindexed = [i for i in inputs if not i.get("indexed")]
        # an indexed string, bytes, array or tuple is only its hash in the topic (as web3 decodes it)
        self.topic_types = [_abi_type(i) if _is_value_type(i["type"]) else "bytes32" for i in self.indexed]
        self.data_types = [_abi_type(i) for i in self.unindexed]

    def args(self, codec, log):
        """{name: value} of ``log``: addresses checksummed, the rest as the codec decodes it;
        a log that does not fit the event (topic count, data) raises."""
        topics = log["topics"][1:]
        if len(topics) != len(self.topic_types):
            raise ValueError(f"{self.name}: {len(self.topic_types)} indexed arguments, {len(topics)} topics")
        # every topic is one 32-byte word: decoded together, as one static tuple
        indexed = codec.decode(self.topic_types, b"".join(bytes(t) for t in topics)) if topics else ()
        data = codec.decode(self.data_types, bytes(log["data"]))
        out = {i["name"]: _checksummed({"type": t}, v) for i, t, v in zip(self.indexed, self.topic_types, indexed)}
        out.update((i["name"], _checksummed(i, v)) for i, v in zip(self.unindexed, data))
        return out


def _checksummed(abi_input, value):
    """Addresses checksummed, as web3 gives them (the codec gives lower case): a plain
    address through the cached ``client.checksum`` (events name the same accounts again and
    again), arrays and tuples through ``client._post``."""
    abi_type = abi_input["type"]
    if abi_type == "address":
        return checksum(value)
    return _post(abi_input, value) if "address" in abi_type or abi_type.startswith("tuple") else value


def _is_value_type(abi_type):
    return not (abi_type in ("string", "bytes") or abi_type.endswith("]") or abi_type.startswith("tuple"))


def decoders_of(chain):
    """{topic0: EventDecoder} of every event the indexer stores."""
    decoders = {}
    for name, contract in chain.contracts.items():
        for entry in contract.abi:
            if entry.get("type") == "event" and not entry.get("anonymous"):
                decoders[bytes(event_abi_to_log_topic(entry))] = EventDecoder(name, entry)
    return decoders


def get_logs(chain, start, end, addresses):
    """eth_getLogs without web3's result formatters (costly for the thousands of logs of a
    bulk issuance): each log as ``client.light_log``."""
    result = raw_request(chain.w3, "eth_getLogs", [{"fromBlock": hex(start), "toBlock": hex(end), "address": addresses}])
    if not isinstance(result, list):
        raise ChainError(f"eth_getLogs: {result!r}")
    return [light_log(raw) for raw in result]


def read_blocks(chain, blocks, numbers):
    """Add (timestamp, 0x hash) of each block of ``numbers`` not in ``blocks`` yet: JSON-RPC
    batch requests of ``BLOCKS_PER_BATCH`` (a block a request on a provider without batches)."""
    missing = sorted(set(numbers) - set(blocks))
    for i in range(0, len(missing), BLOCKS_PER_BATCH):
        chunk = missing[i:i + BLOCKS_PER_BATCH]
        for number, raw in zip(chunk, _blocks_raw(chain, chunk)):
            if not raw:
                raise ChainError(f"block {number} is not on the chain")
            blocks[number] = (int(raw["timestamp"], 16), raw["hash"])
    return blocks


def _blocks_raw(chain, numbers):
    """The raw eth_getBlockByNumber results (without transactions) of ``numbers``, in order."""
    calls = [("eth_getBlockByNumber", [hex(n), False]) for n in numbers]
    batch = getattr(chain.w3.provider, "make_batch_request", None)
    if batch is None or len(calls) == 1:
        return [raw_request(chain.w3, method, params) for method, params in calls]
    answers = batch(calls)
    if not isinstance(answers, list):  # the node refused the batch itself
        raise ChainError(f"eth_getBlockByNumber batch: {answers!r}")
    for answer in answers:
        if "error" in answer:
            raise ChainError(f"eth_getBlockByNumber: {answer['error']}")
    return [answer.get("result") for answer in answers]
