//! The fuzz targets' bodies: one function per target in `fuzz_targets/`, each feeding
//! arbitrary bytes to decoders a remote peer or an API caller reaches, and asserting
//! what must hold of whatever they accept. None of them may panic on any input.
//!
//! | target | bytes | as the node receives them |
//! |---|---|---|
//! | [`envelope`] | a signed envelope | gossip message, request-response frame body |
//! | [`message`] | kind selector ‖ payload | the payload of a verified envelope |
//! | [`frame`] | length prefix ‖ frame | a request-response stream |
//! | [`witness`] | circuit selector ‖ witness text | a job's input, fetched from its client |
//! | [`api`] | route selector ‖ body or path | `POST /v1/jobs`, `GET /v1/jobs/{id}` |
//! | [`eip712`] | digest ‖ signature | the EIP-712 signature of a job request, bid, award or acceptance |
//!
//! Times are fixed ([`NOW`]) so every run of an input does the same thing.

use std::fmt::Debug;
use std::ops::RangeInclusive;

use provernet_circuits::Circuit;
use provernet_circuits::job::SubmitRequest;
use provernet_protocol::frame::{LengthPrefix, MAX_PREFIX_LEN, encode_prefix};
use provernet_protocol::kind::MAX_INPUT_BYTES;
use provernet_protocol::primitives::to_hex;
use provernet_protocol::{
    Acceptance, Award, BatchRequest, BatchResponse, Bid, ChallengeNotice, CommitmentNotice,
    Context, EnvelopeError, InputRequest, InputResponse, JobId, JobRequest, MessageKind, Payload,
    ProofRequest, ProofResponse, ProverAdvert, SignedEnvelope, Validator, VerifiedEnvelope,
};

/// The chain id envelopes are checked against (anvil's, as in the testnet).
pub const CHAIN_ID: u64 = 31337;
/// The time every input is checked at, unix seconds.
pub const NOW: u64 = 1_800_000_000;
/// The node's response frame limit, the larger of its two (`NetworkConfig::max_response_bytes`).
pub const MAX_FRAME: usize = MessageKind::max_envelope_len();
/// The `deadline_secs` a node with the default configuration accepts: above its bid
/// window (300 ms, rounded up to 1 s) plus 1, up to `MAX_DEADLINE_SECS` (30 days).
pub const DEADLINES: RangeInclusive<u64> = 3..=2_592_000;

/// The context the node builds for [`CHAIN_ID`].
pub fn context() -> Context {
    Context::new(CHAIN_ID)
}

/// Runs `$body` with `$p` the payload type of the kind `$kind`.
macro_rules! with_payload {
    ($kind:expr, $p:ident => $body:expr) => {
        match $kind {
            MessageKind::JobRequest => {
                type $p = JobRequest;
                $body
            }
            MessageKind::Bid => {
                type $p = Bid;
                $body
            }
            MessageKind::Award => {
                type $p = Award;
                $body
            }
            MessageKind::Acceptance => {
                type $p = Acceptance;
                $body
            }
            MessageKind::InputRequest => {
                type $p = InputRequest;
                $body
            }
            MessageKind::InputResponse => {
                type $p = InputResponse;
                $body
            }
            MessageKind::ProofRequest => {
                type $p = ProofRequest;
                $body
            }
            MessageKind::ProofResponse => {
                type $p = ProofResponse;
                $body
            }
            MessageKind::CommitmentNotice => {
                type $p = CommitmentNotice;
                $body
            }
            MessageKind::ChallengeNotice => {
                type $p = ChallengeNotice;
                $body
            }
            MessageKind::ProverAdvert => {
                type $p = ProverAdvert;
                $body
            }
            MessageKind::BatchRequest => {
                type $p = BatchRequest;
                $body
            }
            MessageKind::BatchResponse => {
                type $p = BatchResponse;
                $body
            }
        }
    };
}

/// `envelope`: the bytes as a gossip message or a request-response frame body.
///
/// Decoding, [`SignedEnvelope::verify`], [`Validator::validate`] and
/// [`Validator::validate_batch`] agree; whatever decodes re-encodes to an envelope that
/// decodes to the same one; a verified envelope opens as its kind (and only as its kind)
/// exactly when its payload decodes, and is a replay the second time.
pub fn envelope(data: &[u8]) {
    let context = context();
    let decoded = SignedEnvelope::decode(data, &context, NOW);
    let validated = Validator::new(context.clone(), 4).validate(data, NOW);
    let batch = Validator::new(context.clone(), 4).validate_batch(&[data, data], NOW);
    let envelope = match decoded {
        Ok(envelope) => envelope,
        Err(error) => {
            assert_eq!(validated.as_ref().err(), Some(&error));
            assert_eq!(batch[0].as_ref().err(), Some(&error));
            describe(&error);
            return;
        }
    };

    let bytes = envelope.to_bytes();
    let again = SignedEnvelope::decode(&bytes, &context, NOW).expect("re-encoded envelope decodes");
    assert_eq!(again.id(), envelope.id());
    assert_eq!(again.kind(), envelope.kind());
    assert_eq!(again.signer(), envelope.signer());
    assert_eq!(again.expires_at(), envelope.expires_at());
    assert_eq!(again.payload(), envelope.payload());
    assert_eq!(again.to_bytes(), bytes);
    assert!(envelope.payload().len() <= envelope.kind().max_payload_len());

    let verified = envelope.clone().verify();
    match (&verified, &validated) {
        (Ok(verified), Ok(validated)) => assert_eq!(verified.id(), validated.id()),
        (Err(error), Err(same)) => {
            assert_eq!(error, same);
            describe(error);
        }
        _ => panic!("verify and validate disagree: {verified:?} / {validated:?}"),
    }
    // One rule on both paths (`provernet_protocol::ed25519`): the same verdict.
    assert_eq!(verified.is_ok(), batch[0].is_ok());
    match &batch[1] {
        Err(EnvelopeError::Replayed { id }) => assert!(batch[0].is_ok() && *id == envelope.id()),
        Err(EnvelopeError::BadSignature) => assert!(batch[0].is_err()),
        other => panic!("a duplicate in a batch passed or failed oddly: {other:?}"),
    }
    if let Ok(verified) = verified {
        with_payload!(verified.kind(), P => open_as::<P>(&verified));
        let mut validator = Validator::new(context, 4);
        validator.validate(data, NOW).expect("validates once");
        for replay in [data, &bytes] {
            assert!(matches!(
                validator.validate(replay, NOW),
                Err(EnvelopeError::Replayed { .. })
            ));
        }
    }
}

/// Exercises an error's accessors the node calls for metrics and scoring.
fn describe(error: &EnvelopeError) {
    let _ = error.is_sender_fault();
    assert!(!error.reason().is_empty());
    assert!(!error.to_string().is_empty());
}

/// Opens `verified` as `P` (its kind) and as a kind it is not.
fn open_as<P: Payload + PartialEq + Debug>(verified: &VerifiedEnvelope) {
    let opened = verified.open::<P>();
    let direct = P::decode(verified.envelope().payload());
    assert_eq!(opened.as_ref().ok(), direct.as_ref().ok());
    if let Ok(value) = direct {
        round_trip(&value);
    }
    let mismatch = if P::KIND == MessageKind::BatchRequest {
        verified.open::<Bid>().map(drop)
    } else {
        verified.open::<BatchRequest>().map(drop)
    };
    assert!(matches!(mismatch, Err(EnvelopeError::KindMismatch { .. })));
}

/// `message`: the first byte picks one of [`MessageKind::ALL`], the rest is that kind's
/// payload. What decodes passes its own rules, re-encodes within the kind's size bound
/// and decodes again to the same value.
pub fn message(data: &[u8]) {
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    let kind = MessageKind::ALL[usize::from(selector) % MessageKind::ALL.len()];
    with_payload!(kind, P => {
        if let Ok(value) = P::decode(payload) {
            round_trip(&value);
        }
    });
}

fn round_trip<P: Payload + PartialEq + Debug>(value: &P) {
    assert_eq!(value.check(), Ok(()));
    let encoded = value.encode_to_vec();
    assert!(
        encoded.len() <= P::KIND.max_payload_len(),
        "a valid {:?} takes {} bytes, above its bound of {}",
        P::KIND,
        encoded.len(),
        P::KIND.max_payload_len()
    );
    let again = P::decode(&encoded).expect("a re-encoded message decodes");
    assert_eq!(&again, value);
    assert_eq!(again.encode_to_vec(), encoded);
}

/// `frame`: a request-response stream. The length prefix is read as the node's codec
/// reads it (limit [`MAX_FRAME`]); a complete, non-empty frame is then checked as
/// [`envelope`] checks a gossip message. Bytes after the frame are ignored, as the node
/// reads one frame per stream.
pub fn frame(data: &[u8]) {
    let mut prefix = LengthPrefix::new(MAX_FRAME);
    for (i, &byte) in data.iter().enumerate() {
        assert!(i < MAX_PREFIX_LEN, "the prefix went on past its limit");
        match prefix.push(byte) {
            Ok(None) => {}
            Err(error) => {
                assert!(!error.to_string().is_empty());
                return;
            }
            Ok(Some(len)) => {
                assert!(len <= MAX_FRAME);
                let canonical = encode_prefix(len);
                assert!(canonical.len() <= i + 1);
                let mut check = LengthPrefix::new(MAX_FRAME);
                let (last, head) = canonical.split_last().expect("a prefix has a byte");
                assert!(head.iter().all(|b| check.push(*b) == Ok(None)));
                assert_eq!(check.push(*last), Ok(Some(len)));
                let Some(frame) = data.get(i + 1..i + 1 + len) else {
                    // Truncated: the node's read fails.
                    return;
                };
                if !frame.is_empty() {
                    envelope(frame);
                }
                return;
            }
        }
    }
}

/// `witness`: the first byte picks one of [`Circuit::ALL`], the rest is the witness text
/// a prover fetched from the client (the node refuses input that is not UTF-8 before
/// parsing).
pub fn witness(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let circuit = Circuit::ALL[usize::from(selector) % Circuit::ALL.len()];
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match circuit.parse_witness_str(text) {
        // The public inputs are not computed: that is proving work (Poseidon hashes at
        // about a millisecond per witness here), not decoding.
        Ok(witness) => assert_eq!(witness.circuit(), circuit),
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

/// `api`: an even first byte makes the rest a `POST /v1/jobs` body, checked as a node
/// with the default configuration checks it ([`DEADLINES`]); an odd one makes it the
/// job id of `GET /v1/jobs/{id}` (axum hands the handler UTF-8 only).
pub fn api(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector % 2 == 0 {
        let Ok(request) = serde_json::from_slice::<SubmitRequest>(rest) else {
            return;
        };
        match request.check(DEADLINES, |_| true) {
            Ok(checked) => {
                assert_eq!(checked.circuit.name(), request.circuit);
                assert_eq!(checked.input, request.input.as_bytes());
                assert!(checked.input.len() <= MAX_INPUT_BYTES as usize);
                assert!(checked.max_price > 0);
                assert!(DEADLINES.contains(&checked.deadline_secs));
            }
            Err(error) => assert!(!error.to_string().is_empty()),
        }
        let json = serde_json::to_vec(&request).expect("a request serializes");
        let again: SubmitRequest = serde_json::from_slice(&json).expect("and parses back");
        assert_eq!(again, request);
    } else {
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        if let Some(id) = JobId::parse_hex(text) {
            let digits = text.strip_prefix("0x").unwrap_or(text);
            assert_eq!(digits.to_ascii_lowercase(), to_hex(&id.0));
            assert_eq!(JobId::parse_hex(&id.to_string()), Some(id));
        }
    }
}

/// secp256k1's group order, n.
const SECP256K1_N: &str = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

/// `eip712`: a 32-byte digest, then a signature of any length, through the signer
/// recovery the node runs on every job request, bid, award and acceptance it receives
/// (`slashing::eip712::recover`). A signature it accepts is 65 bytes with v 27 or 28 (so
/// it has a compact form, as the contract takes it), and its high-s twin, which secp256k1
/// would accept for the same signer, is refused.
pub fn eip712(data: &[u8]) {
    use ethers::types::{H256, U256};
    use provernet_slashing::eip712::{compact, recover};

    let Some((digest, signature)) = data.split_first_chunk::<32>() else {
        return;
    };
    let digest = H256(*digest);
    let Some(signer) = recover(digest, signature) else {
        return;
    };
    assert_eq!(signature.len(), 65);
    assert!(compact(signature).is_some());
    let n = U256::from_str_radix(SECP256K1_N, 16).expect("the order");
    let s = U256::from_big_endian(&signature[32..64]);
    let mut twin = signature.to_vec();
    (n - s).to_big_endian(&mut twin[32..64]);
    twin[64] = if signature[64] == 27 { 28 } else { 27 };
    assert_eq!(recover(digest, &twin), None, "the high-s twin of {signer:?}'s signature");
}
