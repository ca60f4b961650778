#!/usr/bin/env python3
"""provernet and EZKL side by side on one ONNX model (`./scripts/bench.sh zkml`).

Run by the benchmark, never by CI: it needs the virtualenv of
scripts/make-digits-model.py with `ezkl==23.0.5` added (bench.sh installs it). For the
digits model (examples/digits/model.onnx) and a larger one with random weights
(64-64-32-10, written here with onnx's helpers), both systems prove one inference, in
one run on this machine, and the script prints and records:

- prove time: the prove command's wall time with keys already on disk (each loads its
  proving key, proves and writes the proof), best of PROVERNET_ZKML_RUNS (default 3);
- proof size, bytes;
- EVM verification gas: both verifiers deployed on one anvil, `eth_estimateGas` of a
  valid proof's call less the transaction's intrinsic gas (21,000 and calldata);
- peak memory: the prove command's maximum resident set (wait4);
- accuracy on the 450 test images of examples/digits/reference.json against
  onnxruntime's float logits: argmax agreement and the largest logit error.

EZKL runs with the weights hashed (a public Poseidon hash, "hashed/public"), inputs and
outputs public, settings calibrated for resources, its own SRS from `gen_srs` (made
locally: no download). provernet's model circuit has its input committed rather than
public (docs/circuits.md): with the digits' 64 inputs public its verifier is above the
EVM's code limit.

Usage: bench-zkml.py --provernet PATH --anvil PATH --solc PATH --out DIR [--figures F]
"""

import argparse
import asyncio
import inspect
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DIGITS = os.path.join(ROOT, "examples", "digits")
COMMAND = "./scripts/bench.sh zkml"
# EIP-170.
MAX_CODE = 24_576


def timed_rss(cmd, env=None):
    started = time.monotonic()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "MAXRSS=%M", *cmd],
        capture_output=True,
        env=env,
        check=False,
    )
    wall = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit(f"bench-zkml: {' '.join(cmd)} failed:\n{proc.stderr.decode()[-4000:]}")
    found = re.findall(r"MAXRSS=(\d+)", proc.stderr.decode())
    rss_mib = int(found[-1]) / 1024 if found else float("nan")
    return proc.stdout.decode(), wall, rss_mib


def best_of(runs, cmd, env=None):
    """The fastest of `runs` runs of `cmd`: (stdout, wall s, peak RSS MiB of that run)."""
    results = [timed_rss(cmd, env) for _ in range(runs)]
    return min(results, key=lambda r: r[1])


def ez(function, *args, **kwargs):
    """Calls an EZKL function inside an event loop (some need one running, some return
    awaitables)."""

    async def call():
        result = function(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    return asyncio.run(call())


# --- anvil --------------------------------------------------------------------------


class Anvil:
    def __init__(self, binary):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--silent", "--code-size-limit", "1000000"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                self.accounts = self.rpc("eth_accounts", [])
                return
            except OSError:
                time.sleep(0.1)
        sys.exit("bench-zkml: anvil did not start")

    def rpc(self, method, params):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        req = urllib.request.Request(
            self.url, body.encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=120) as resp:
            answer = json.loads(resp.read())
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def deploy(self, creation_hex):
        tx = {"from": self.accounts[0], "data": creation_hex, "gas": hex(30_000_000)}
        hash_ = self.rpc("eth_sendTransaction", [tx])
        receipt = None
        for _ in range(100):
            receipt = self.rpc("eth_getTransactionReceipt", [hash_])
            if receipt is not None:
                break
            time.sleep(0.1)
        if receipt is None or int(receipt["status"], 16) != 1:
            sys.exit(f"bench-zkml: a verifier's deployment failed: {receipt}")
        address = receipt["contractAddress"]
        code = self.rpc("eth_getCode", [address, "latest"])
        return address, (len(code) - 2) // 2

    def verify_gas(self, address, calldata_hex):
        """Gas of a verification call less the intrinsic gas; None when the proof is
        rejected (the call reverts, as provernet's verifiers do, or returns false, as
        EZKL's `verifyProof` does)."""
        data = bytes.fromhex(calldata_hex.removeprefix("0x"))
        intrinsic = 21_000 + sum(4 if b == 0 else 16 for b in data)
        call = {"from": self.accounts[0], "to": address, "data": "0x" + data.hex()}
        try:
            returned = self.rpc("eth_call", [call, "latest"])
        except RuntimeError:
            return None
        if returned not in ("0x", "0x" + "00" * 31 + "01"):
            return None
        try:
            gas = int(
                self.rpc(
                    "eth_estimateGas",
                    [{"from": self.accounts[0], "to": address, "data": "0x" + data.hex()}],
                ),
                16,
            )
        except RuntimeError:
            return None
        return gas - intrinsic

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def corrupted(calldata_hex, abi=False):
    """The calldata with one byte in the middle of the proof flipped: provernet's is the
    public inputs then the proof (its last byte is the proof's); EZKL's is
    `verifyProof(bytes proof, uint256[] instances)` ABI-encoded."""
    data = bytearray(bytes.fromhex(calldata_hex.removeprefix("0x")))
    if abi:
        offset = 4 + int.from_bytes(data[4:36], "big")
        length = int.from_bytes(data[offset : offset + 32], "big")
        data[offset + 32 + length // 2] ^= 1
    else:
        data[-40] ^= 1
    return data.hex()


def compile_solidity(solc, source_path, optimize):
    """Creation code (hex) of the largest contract of `source_path`, by solcjs: EZKL's
    verifier with the optimizer on at 1 run (EZKL's own default; without it solc finds its
    assembly too deep in the stack), nothing else compiled here."""
    name = os.path.basename(source_path)
    with open(source_path) as f:
        source = f.read()
    standard = {
        "language": "Solidity",
        "sources": {name: {"content": source}},
        "settings": {
            "optimizer": {"enabled": optimize, "runs": 1},
            "outputSelection": {"*": {"*": ["evm.bytecode.object"]}},
        },
    }
    proc = subprocess.run(
        [solc, "--standard-json"],
        input=json.dumps(standard).encode(),
        capture_output=True,
        check=False,
    )
    out = json.loads(proc.stdout)
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        sys.exit(f"bench-zkml: solc: {errors[0].get('formattedMessage')}")
    contracts = out["contracts"][name]
    biggest = max(contracts.values(), key=lambda c: len(c["evm"]["bytecode"]["object"]))
    return "0x" + biggest["evm"]["bytecode"]["object"]


# --- the models ---------------------------------------------------------------------


def random_mlp(path, widths, seed=7):
    """An ONNX MLP of `widths` (inputs first) with random weights: Gemm + Relu layers."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    prev = "input"
    for i, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
        w = (rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(np.float32)
        b = (rng.standard_normal(n_out) * 0.1).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        out = f"h{i}"
        nodes.append(helper.make_node("Gemm", [prev, f"w{i}", f"b{i}"], [out]))
        prev = out
        if i + 2 < len(widths):
            nodes.append(helper.make_node("Relu", [prev], [f"r{i}"]))
            prev = f"r{i}"
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, widths[0]])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, widths[-1]])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)


# --- what both sides report -------------------------------------------------------


def accuracy(reference, outputs_of):
    """Argmax agreement and the largest logit error of `outputs_of(input)` against
    onnxruntime's logits in `reference`; (None, None) without a reference."""
    if reference is None:
        return None, None
    agree, max_err = 0, 0.0
    for x, logits in zip(reference["inputs"], reference["logits"]):
        values = outputs_of(x)
        best = max(range(len(values)), key=values.__getitem__)
        agree += int(best == max(range(len(logits)), key=logits.__getitem__))
        max_err = max(max_err, max(abs(a - b) for a, b in zip(values, logits)))
    return agree, max_err


def side_result(wall, rss, proof_bytes, evm, agree, max_err, **extra):
    """One system's figures on one model: `evm` is (gas, rejects a corrupted proof, note)."""
    gas, rejects, code_note = evm
    return {
        "prove_s": wall,
        "rss_mib": rss,
        "proof_bytes": proof_bytes,
        "gas": gas,
        "rejects_corrupted": rejects,
        "code": code_note,
        "agree": agree,
        "max_err": max_err,
        **extra,
    }


# --- provernet ----------------------------------------------------------------------


def provernet_side(args, work, onnx_path, calibration, inputs, anvil, reference):
    pn = args.provernet
    package = os.path.join(work, "package")
    out, _, _ = timed_rss(
        [pn, "model", "import", onnx_path, "--calibrate", calibration, "--out", package]
    )
    circuit = out.split(":")[0].strip()
    srs = ["--dev-srs", "--cache-dir", args.cache_dir, "--solc", args.solc]
    input_file = os.path.join(work, "input.json")
    with open(input_file, "w") as f:
        json.dump({"input": inputs[0]}, f)
    witness = os.path.join(work, "witness.json")
    timed_rss([pn, "model", "witness", package, "--input", input_file, "--out", witness])
    proof = os.path.join(work, "proof.json")
    prove = [pn, "prove", "--circuit", circuit, "--input", witness, "--out", proof, *srs]
    timed_rss(prove)  # keys built and cached
    _, wall, rss = best_of(args.runs, prove)
    with open(proof) as f:
        proof_json = json.load(f)
    proof_bytes = len(bytes.fromhex(proof_json["proof"].removeprefix("0x")))
    verifier_dir = os.path.join(work, "verifier")
    code_note, gas, rejects = None, None, None
    try:
        timed_rss([pn, "circuits", "export-verifier", "--circuit", circuit, "--out", verifier_dir, *srs])
        with open(os.path.join(verifier_dir, "Halo2Verifier.bin")) as f:
            creation = f.read().strip()
        address, code_size = anvil.deploy(creation)
        calldata, _, _ = timed_rss([pn, "circuits", "calldata", "--proof", proof])
        gas = anvil.verify_gas(address, calldata.strip())
        rejects = anvil.verify_gas(address, corrupted(calldata.strip())) is None
        code_note = f"verifier {code_size} bytes"
    except SystemExit as refusal:
        lines = [
            l
            for l in str(refusal).splitlines()
            if l.strip() and not l.startswith(("MAXRSS=", "Command exited"))
        ]
        code_note = f"no EVM verifier: {lines[-1][:160] if lines else refusal}"
    def outputs_of(x):
        with open(input_file, "w") as f:
            json.dump({"input": x}, f)
        out, _, _ = timed_rss([pn, "model", "witness", package, "--input", input_file, "--out", witness])
        return [float(v) for v in re.search(r"output \[([^\]]*)\]", out).group(1).split(",")]

    agree, max_err = accuracy(reference, outputs_of)
    evm = (gas, rejects, code_note)
    return side_result(wall, rss, proof_bytes, evm, agree, max_err, circuit=circuit)


# --- EZKL ---------------------------------------------------------------------------


def ezkl_prove_child(argv):
    """`bench-zkml.py ezkl-prove WITNESS COMPILED PK PROOF SRS`: one EZKL proof, in its own
    process so its peak memory is its own."""
    import ezkl

    witness, compiled, pk, proof, srs = argv
    ez(ezkl.prove, witness, compiled, pk, proof, srs)


def ezkl_side(args, work, onnx_path, calibration, inputs, anvil, reference):
    import ezkl

    settings = os.path.join(work, "settings.json")
    run_args = ezkl.PyRunArgs()
    run_args.input_visibility = "public"
    run_args.output_visibility = "public"
    run_args.param_visibility = "hashed/public"
    ez(ezkl.gen_settings, onnx_path, settings, py_run_args=run_args)
    cal = os.path.join(work, "calibration.json")
    with open(calibration) as f:
        cal_inputs = json.load(f)["inputs"]
    with open(cal, "w") as f:
        json.dump({"input_data": [sum(cal_inputs[:20], [])]}, f)
    ez(ezkl.calibrate_settings, cal, onnx_path, settings, "resources")
    compiled = os.path.join(work, "model.compiled")
    ez(ezkl.compile_circuit, onnx_path, compiled, settings)
    with open(settings) as f:
        logrows = json.load(f)["run_args"]["logrows"]
    srs = os.path.join(work, f"kzg{logrows}.srs")
    if not os.path.exists(srs):
        ez(ezkl.gen_srs, srs, logrows)
    vk, pk = os.path.join(work, "vk.key"), os.path.join(work, "pk.key")
    ez(ezkl.setup, compiled, vk, pk, srs)
    data = os.path.join(work, "input.json")
    with open(data, "w") as f:
        json.dump({"input_data": [inputs[0]]}, f)
    witness = os.path.join(work, "witness.json")
    ez(ezkl.gen_witness, data, compiled, witness, vk, srs)
    proof = os.path.join(work, "proof.json")
    prove = [sys.executable, os.path.abspath(__file__), "ezkl-prove", witness, compiled, pk, proof, srs]
    _, wall, rss = best_of(args.runs, prove)
    assert ez(ezkl.verify, proof, settings, vk, srs), "EZKL's proof does not verify"
    with open(proof) as f:
        proof_json = json.load(f)
    raw = proof_json.get("proof")
    proof_bytes = len(bytes(raw)) if isinstance(raw, list) else len(bytes.fromhex(str(raw).removeprefix("0x")))
    sol, abi = os.path.join(work, "Verifier.sol"), os.path.join(work, "Verifier.abi")
    code_note, gas, rejects = None, None, None
    try:
        try:
            ez(ezkl.create_evm_verifier, vk, settings, sol, abi, srs)
        except RuntimeError as error:
            # It writes the Solidity, then fetches a native solc for the ABI (svm): offline
            # here, and the ABI is not needed.
            if not os.path.exists(sol) or os.path.getsize(sol) == 0:
                raise
            print(f"bench-zkml: EZKL's verifier written ({error})", flush=True)
        creation = compile_solidity(args.solc, sol, optimize=True)
        address, code_size = anvil.deploy(creation)
        calldata_path = os.path.join(work, "calldata.bin")
        ez(ezkl.encode_evm_calldata, proof, calldata_path)
        with open(calldata_path, "rb") as f:
            calldata = f.read().hex()
        gas = anvil.verify_gas(address, calldata)
        rejects = anvil.verify_gas(address, corrupted(calldata, abi=True)) is None
        code_note = f"verifier {code_size} bytes" + (" (above EIP-170)" if code_size > MAX_CODE else "")
    except (SystemExit, Exception) as refusal:  # noqa: BLE001 - reported, not hidden
        code_note = f"no EVM verifier: {str(refusal).splitlines()[-1][:160] if str(refusal) else type(refusal).__name__}"
    def outputs_of(x):
        with open(data, "w") as f:
            json.dump({"input_data": [x]}, f)
        ez(ezkl.gen_witness, data, compiled, witness, vk, srs)
        with open(witness) as f:
            return [float(v) for v in json.load(f)["pretty_elements"]["rescaled_outputs"][0]]

    agree, max_err = accuracy(reference, outputs_of)
    os.remove(pk)  # over a GB: not kept
    evm = (gas, rejects, code_note)
    return side_result(wall, rss, proof_bytes, evm, agree, max_err, logrows=logrows)


# --- figures ------------------------------------------------------------------------


def record(figures, name, title, value, unit, target=None, note=None):
    line = {
        "name": name,
        "title": title,
        "value": value,
        "unit": unit,
        "target": target,
        "pass": None if target is None or value is None else (
            value <= target["at_most"] if "at_most" in target else value >= target["at_least"]
        ),
        "command": COMMAND,
        "note": note,
        "series": None,
    }
    figures.append(line)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "ezkl-prove":
        ezkl_prove_child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--provernet", required=True)
    parser.add_argument("--anvil", required=True)
    parser.add_argument("--solc", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--cache-dir", default=os.path.expanduser("~/.cache/provernet/circuits"))
    parser.add_argument("--figures", default=os.environ.get("PROVERNET_BENCH_FIGURES"))
    parser.add_argument("--runs", type=int, default=int(os.environ.get("PROVERNET_ZKML_RUNS", "3")))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(DIGITS, "reference.json")) as f:
        reference = json.load(f)
    calibration = os.path.join(DIGITS, "calibration.json")
    anvil = Anvil(args.anvil)
    figures, rows = [], []
    try:
        # The digits model, then the larger random one (64-64-32-10, 6,570 parameters).
        large_dir = os.path.join(args.out, "large")
        os.makedirs(large_dir, exist_ok=True)
        large_onnx = os.path.join(large_dir, "model.onnx")
        random_mlp(large_onnx, [64, 64, 32, 10])
        for label, onnx_path, ref in [
            ("digits", os.path.join(DIGITS, "model.onnx"), reference),
            ("large", large_onnx, None),
        ]:
            results = {}
            for system, side in [("provernet", provernet_side), ("ezkl", ezkl_side)]:
                work = os.path.join(args.out, label, system)
                shutil.rmtree(work, ignore_errors=True)
                os.makedirs(work)
                print(f"bench-zkml: {label}: {system} …", flush=True)
                results[system] = side(args, work, onnx_path, calibration, reference["inputs"], anvil, ref)
            rows.append((label, results))
    finally:
        anvil.close()

    print()
    print(f"{'model':<8} {'system':<10} {'prove s':>8} {'proof B':>8} {'verify gas':>11} {'peak MiB':>9} {'argmax':>8} {'max err':>8}  notes")
    for label, results in rows:
        for system, r in results.items():
            gas = "-" if r["gas"] is None else f"{r['gas']:,}"
            agree = "-" if r["agree"] is None else f"{r['agree']}/450"
            err = "-" if r["max_err"] is None else f"{r['max_err']:.4f}"
            note = r["code"] + ("" if r["rejects_corrupted"] in (None, True) else "; ACCEPTS A CORRUPTED PROOF")
            extra = f"; {r['circuit']}" if system == "provernet" else f"; logrows {r['logrows']}"
            print(f"{label:<8} {system:<10} {r['prove_s']:>8.2f} {r['proof_bytes']:>8} {gas:>11} {r['rss_mib']:>9.0f} {agree:>8} {err:>8}  {note}{extra}")
        p, e = results["provernet"], results["ezkl"]
        ratio = p["prove_s"] / e["prove_s"]
        print(f"{label:<8} ratio      {ratio:>8.2f} (provernet ÷ EZKL prove time)")
        target = {"at_most": 1.0} if label == "digits" else None
        record(figures, f"zkml.{label}.prove_ratio", f"{label}: prove time, provernet ÷ EZKL", round(ratio, 3), "ratio", target,
               f"provernet {p['prove_s']:.2f} s ({p['circuit']}), EZKL {e['prove_s']:.2f} s (logrows {e['logrows']}); best of {args.runs}, key load included")
        for system, r in results.items():
            record(figures, f"zkml.{label}.{system}.proof_bytes", f"{label}: {system} proof size", r["proof_bytes"], "bytes")
            record(figures, f"zkml.{label}.{system}.peak_rss", f"{label}: {system} prove peak memory", round(r["rss_mib"]), "MiB")
            if r["max_err"] is not None:
                record(figures, f"zkml.{label}.{system}.max_logit_error", f"{label}: {system} largest logit error against onnxruntime", round(r["max_err"], 4), "logit",
                       note=f"argmax agrees on {r['agree']}/450 test images")
            if r["gas"] is not None:
                record(figures, f"zkml.{label}.{system}.verify_gas", f"{label}: {system} EVM verification gas", r["gas"], "gas", note=r["code"])
        if p["gas"] is not None and e["gas"] is not None:
            record(figures, f"zkml.{label}.gas_ratio", f"{label}: verification gas, provernet ÷ EZKL", round(p["gas"] / e["gas"], 3), "ratio",
                   {"at_most": 1.0} if label == "digits" else None)
        if p["max_err"] is not None and e["max_err"] is not None:
            record(figures, f"zkml.{label}.logit_error_ratio", f"{label}: largest logit error against onnxruntime, provernet ÷ EZKL",
                   round(p["max_err"] / e["max_err"], 3) if e["max_err"] > 0 else None, "ratio", {"at_most": 1.0},
                   f"provernet {p['max_err']:.4f} ({p['circuit']}), EZKL {e['max_err']:.4f} (logrows {e['logrows']})")
        if p["agree"] is not None and e["agree"] is not None:
            record(figures, f"zkml.{label}.argmax_margin", f"{label}: argmax agreement with onnxruntime, provernet less EZKL (of 450)",
                   p["agree"] - e["agree"], "images", {"at_least": 0},
                   f"provernet {p['agree']}/450 (max logit error {p['max_err']:.4f}), EZKL {e['agree']}/450 ({e['max_err']:.4f})")
    if args.figures:
        with open(args.figures, "a") as f:
            for line in figures:
                f.write(json.dumps(line) + "\n")
    missed = [f["name"] for f in figures if f["pass"] is False]
    if missed:
        print(f"bench-zkml: targets missed: {', '.join(missed)}")


if __name__ == "__main__":
    main()
