//! Every way an envelope is refused, each with its own error and fault attribution.

use prost::Message as _;
use provernet_proto::v1;
use provernet_protocol::replay::PURGE_LAG_SECS;
use provernet_protocol::{
    Award, Bid, Context, EnvelopeError, JobRequest, MessageKind, PROTOCOL_VERSION, PayloadError,
    SeenCache, SignedEnvelope, Validator,
};

use crate::support::*;

fn signed_bid() -> SignedEnvelope {
    SignedEnvelope::sign(&bid(), &context(), NOW + 60, &key(1)).expect("valid bid")
}

fn validator() -> Validator {
    Validator::new(context(), SeenCache::DEFAULT_CAPACITY)
}

/// The wire form of a valid signed bid, to tamper with.
fn wire_bid() -> v1::Envelope {
    v1::Envelope::decode(signed_bid().to_bytes().as_slice()).expect("decodes")
}

fn validate_wire(wire: &v1::Envelope) -> Result<(), EnvelopeError> {
    validator().validate(&wire.encode_to_vec(), NOW).map(|_| ())
}

#[test]
fn a_valid_envelope_is_accepted_and_opened() {
    let verified = validator()
        .validate(&signed_bid().to_bytes(), NOW)
        .expect("valid");
    assert_eq!(verified.open::<Bid>().expect("a bid"), bid());
    assert_eq!(verified.signer(), &peer(1));
    verified.expect_signer(&peer(1)).expect("signed by key 1");
}

#[test]
fn truncated() {
    let bytes = signed_bid().to_bytes();
    let error = validator()
        .validate(&bytes[..bytes.len() - 1], NOW)
        .expect_err("truncated");
    assert!(matches!(error, EnvelopeError::Malformed(_)), "{error:?}");
    assert!(error.is_sender_fault());
    // No prefix of a valid envelope is accepted, whatever error it gets.
    for len in 0..bytes.len() {
        assert!(
            validator().validate(&bytes[..len], NOW).is_err(),
            "prefix of {len} bytes"
        );
    }
}

#[test]
fn oversized() {
    let max = MessageKind::max_envelope_len();
    let error = validator()
        .validate(&vec![0u8; max + 1], NOW)
        .expect_err("oversized");
    assert_eq!(error, EnvelopeError::Oversized { len: max + 1, max });
    assert!(error.is_sender_fault());
}

#[test]
fn payload_too_large_for_its_kind() {
    let payload = vec![0u8; MessageKind::Bid.max_payload_len() + 1];
    let envelope =
        SignedEnvelope::sign_unchecked(MessageKind::Bid, &payload, &context(), NOW + 60, &key(1));
    let error = validator()
        .validate(&envelope.to_bytes(), NOW)
        .expect_err("too large");
    assert!(matches!(
        error,
        EnvelopeError::PayloadTooLarge {
            kind: MessageKind::Bid,
            ..
        }
    ));
    assert!(error.is_sender_fault());
}

#[test]
fn unknown_kind() {
    for kind in [0, 14, 99, -3] {
        let mut wire = wire_bid();
        wire.kind = kind;
        let error = validate_wire(&wire).expect_err("unknown kind");
        assert_eq!(error, EnvelopeError::UnknownKind(kind));
        assert!(error.is_sender_fault());
    }
}

#[test]
fn unsupported_version() {
    // Version 1 (before the statement, the two-phase award and ZIP-215) and the next one.
    for version in [1, PROTOCOL_VERSION + 1] {
        let mut wire = wire_bid();
        wire.version = version;
        let error = validate_wire(&wire).expect_err("another version");
        assert_eq!(error, EnvelopeError::UnsupportedVersion { got: version });
        assert!(error.is_sender_fault());
    }
}

#[test]
fn wrong_chain() {
    let other = Context::new(1);
    let envelope = SignedEnvelope::sign(&bid(), &other, NOW + 60, &key(1)).expect("valid");
    let error = validator()
        .validate(&envelope.to_bytes(), NOW)
        .expect_err("wrong chain");
    assert_eq!(
        error,
        EnvelopeError::WrongChain {
            expected: CHAIN_ID,
            got: 1
        }
    );
    assert!(error.is_sender_fault());
}

#[test]
fn expired_is_ignored_not_punished() {
    let envelope = signed_bid();
    let limit = context().forget_after(envelope.expires_at());
    // Within the clock skew it is still fine.
    validator()
        .validate(&envelope.to_bytes(), limit)
        .expect("within skew");
    let error = validator()
        .validate(&envelope.to_bytes(), limit + 1)
        .expect_err("expired");
    assert_eq!(
        error,
        EnvelopeError::Expired {
            expires_at: envelope.expires_at(),
            now: limit + 1
        }
    );
    assert!(!error.is_sender_fault());
}

#[test]
fn expiry_too_far_ahead() {
    let ctx = context();
    let furthest = NOW + ctx.max_ttl_secs + ctx.clock_skew_secs;
    let ok = SignedEnvelope::sign(&bid(), &ctx, furthest, &key(1)).expect("valid");
    validator()
        .validate(&ok.to_bytes(), NOW)
        .expect("at the limit");
    let far = SignedEnvelope::sign(&bid(), &ctx, furthest + 1, &key(1)).expect("valid");
    let error = validator()
        .validate(&far.to_bytes(), NOW)
        .expect_err("too far");
    assert_eq!(
        error,
        EnvelopeError::ExpiryTooFar {
            expires_at: furthest + 1,
            max: furthest
        }
    );
    // Judged by this node's clock: a forwarder whose clock runs ahead accepted it.
    assert!(!error.is_sender_fault());
}

#[test]
fn replayed_is_ignored_not_punished() {
    let mut validator = validator();
    let bytes = signed_bid().to_bytes();
    validator.validate(&bytes, NOW).expect("first time");
    let error = validator.validate(&bytes, NOW + 1).expect_err("replay");
    assert_eq!(
        error,
        EnvelopeError::Replayed {
            id: signed_bid().id()
        }
    );
    assert!(!error.is_sender_fault());
}

#[test]
fn a_forged_copy_does_not_block_the_genuine_envelope() {
    let mut validator = validator();
    let mut forged = wire_bid();
    forged.signature[0] ^= 1;
    assert_eq!(validate_wire(&forged), Err(EnvelopeError::BadSignature));
    validator
        .validate(&forged.encode_to_vec(), NOW)
        .expect_err("forged");
    // Same id as the genuine one, but it was never remembered.
    validator
        .validate(&signed_bid().to_bytes(), NOW)
        .expect("genuine still accepted");
}

#[test]
fn bad_signature() {
    let mut wire = wire_bid();
    wire.signature[10] ^= 0x40;
    let error = validate_wire(&wire).expect_err("bit flip in signature");
    assert_eq!(error, EnvelopeError::BadSignature);
    assert!(error.is_sender_fault());

    // Any signed field changed after signing breaks the signature.
    let mut payload = wire_bid();
    payload.payload[3] ^= 1;
    assert_eq!(validate_wire(&payload), Err(EnvelopeError::BadSignature));
    let mut expiry = wire_bid();
    expiry.expires_at -= 1;
    assert_eq!(validate_wire(&expiry), Err(EnvelopeError::BadSignature));
    let mut kind = wire_bid();
    kind.kind = v1::MessageKind::Award as i32;
    assert_eq!(validate_wire(&kind), Err(EnvelopeError::BadSignature));
}

#[test]
fn a_signature_by_another_key_fails() {
    // Claiming key 2 signed what key 1 signed.
    let mut wire = wire_bid();
    wire.signer = peer(2).as_bytes().to_vec();
    assert_eq!(validate_wire(&wire), Err(EnvelopeError::BadSignature));
}

#[test]
fn wrong_signer_for_the_exchange() {
    let verified = validator()
        .validate(&signed_bid().to_bytes(), NOW)
        .expect("valid");
    let error = verified
        .expect_signer(&peer(2))
        .expect_err("key 1 signed, key 2 expected");
    assert_eq!(
        error,
        EnvelopeError::WrongSigner {
            expected: Box::new(peer(2)),
            got: Box::new(peer(1))
        }
    );
    assert!(error.is_sender_fault());
}

#[test]
fn invalid_signer_key() {
    let mut short = wire_bid();
    short.signer.pop();
    assert_eq!(validate_wire(&short), Err(EnvelopeError::InvalidSignerKey));
    // The identity point: a weak key anyone could "sign" for.
    let mut weak = wire_bid();
    weak.signer = {
        let mut identity = vec![0u8; 32];
        identity[0] = 1;
        identity
    };
    let error = validate_wire(&weak).expect_err("weak key");
    assert_eq!(error, EnvelopeError::InvalidSignerKey);
    assert!(error.is_sender_fault());
}

#[test]
fn keys_seen_before_are_checked_as_strictly_and_the_key_cache_starts_over_when_full() {
    let mut validator = validator();
    // A weak key is refused every time: it is never kept.
    let mut weak = wire_bid();
    weak.signer = {
        let mut identity = vec![0u8; 32];
        identity[0] = 1;
        identity
    };
    for _ in 0..2 {
        assert_eq!(
            validator.validate(&weak.encode_to_vec(), NOW).map(|_| ()),
            Err(EnvelopeError::InvalidSignerKey)
        );
    }
    // A kept key still needs its own signature: a forged one under it is refused.
    validator
        .validate(&signed_bid().to_bytes(), NOW)
        .expect("valid");
    let mut forged = wire_bid();
    forged.expires_at += 1;
    assert_eq!(
        validator.validate(&forged.encode_to_vec(), NOW).map(|_| ()),
        Err(EnvelopeError::BadSignature)
    );
    // More signers than the cache keeps: every valid envelope is still accepted.
    let signers = provernet_protocol::validator::KEYS_KEPT + 2;
    for i in 0..signers {
        let mut secret = [0u8; 32];
        secret[..8].copy_from_slice(&(i as u64 + 10).to_le_bytes());
        let key = ed25519_dalek::SigningKey::from_bytes(&secret);
        let envelope = SignedEnvelope::sign(&bid(), &context(), NOW + 60, &key).expect("bid");
        validator
            .validate(&envelope.to_bytes(), NOW)
            .unwrap_or_else(|e| panic!("signer {i}: {e}"));
    }
}

/// A peer sending envelopes under fresh keys with junk signatures cannot churn the key
/// cache: a key is kept only once it signed a valid envelope.
#[test]
fn junk_signatures_under_fresh_keys_are_not_kept() {
    let mut validator = validator();
    for i in 0..64u64 {
        let mut secret = [0u8; 32];
        secret[..8].copy_from_slice(&(i + 1_000).to_le_bytes());
        let key = ed25519_dalek::SigningKey::from_bytes(&secret);
        let envelope = SignedEnvelope::sign(&bid(), &context(), NOW + 60, &key).expect("bid");
        let mut wire = v1::Envelope::decode(envelope.to_bytes().as_slice()).expect("decodes");
        wire.signature[0] ^= 1;
        assert_eq!(
            validator.validate(&wire.encode_to_vec(), NOW).map(|_| ()),
            Err(EnvelopeError::BadSignature)
        );
    }
    assert_eq!(validator.keys_kept(), 0, "no junk-signed key is kept");
    validator
        .validate(&signed_bid().to_bytes(), NOW)
        .expect("valid");
    assert_eq!(validator.keys_kept(), 1);
}

#[test]
fn malformed_signature() {
    let mut wire = wire_bid();
    wire.signature.truncate(63);
    let error = validate_wire(&wire).expect_err("63-byte signature");
    assert_eq!(error, EnvelopeError::MalformedSignature { len: 63 });
    assert!(error.is_sender_fault());
}

#[test]
fn opened_as_the_wrong_kind() {
    let verified = validator()
        .validate(&signed_bid().to_bytes(), NOW)
        .expect("valid");
    let error = verified.open::<Award>().expect_err("a bid is not an award");
    assert_eq!(
        error,
        EnvelopeError::KindMismatch {
            expected: MessageKind::Award,
            got: MessageKind::Bid
        }
    );
}

#[test]
fn invalid_payload_inside_a_valid_signature() {
    let mut zero_price = v1::Bid::from(&bid());
    zero_price.price = vec![0; 32];
    let envelope = SignedEnvelope::sign_unchecked(
        MessageKind::Bid,
        &zero_price.encode_to_vec(),
        &context(),
        NOW + 60,
        &key(1),
    );
    let verified = validator()
        .validate(&envelope.to_bytes(), NOW)
        .expect("signature is fine");
    let error = verified.open::<Bid>().expect_err("zero price");
    assert_eq!(
        error,
        EnvelopeError::Payload {
            kind: MessageKind::Bid,
            error: PayloadError::Zero { field: "price" }
        }
    );
    assert!(error.is_sender_fault());
}

#[test]
fn signing_refuses_what_peers_would_reject() {
    let mut invalid = bid();
    invalid.price = 0;
    assert_eq!(
        SignedEnvelope::sign(&invalid, &context(), NOW + 60, &key(1)).map(|e| e.id()),
        Err(PayloadError::Zero { field: "price" })
    );
}

/// The attack: keep a captured envelope and send it again at every second, while other
/// traffic makes the cache drop ids whose time has passed, hoping to land in the gap
/// between its id being forgotten and its expiry, or to reach a check made with a clock
/// behind the one the cache purges by (another task's reading, a clock stepped back).
/// There is none: an id is kept through the envelope's last accepted second and
/// [`PURGE_LAG_SECS`] beyond, so every attempt is refused, as a replay while its id is
/// held and as expired after, by the clock that purged and by one a minute behind it.
#[test]
fn a_replay_is_refused_whenever_the_cache_drops_old_ids() {
    let mut validator = validator();
    let captured = signed_bid();
    let bytes = captured.to_bytes();
    validator.validate(&bytes, NOW).expect("first time");
    let limit = context().forget_after(captured.expires_at());
    for (n, now) in (NOW..=limit + PURGE_LAG_SECS + 65).enumerate() {
        // Another envelope each second: each insertion purges what is past its time.
        let mut other = bid();
        other.price += 1 + n as u128;
        let fresh = SignedEnvelope::sign(&other, &context(), now + 60, &key(1)).expect("valid");
        validator.validate(&fresh.to_bytes(), now).expect("fresh");
        // A clock a minute behind: what the lag is for.
        for clock in [now, now - 60] {
            let error = validator.validate(&bytes, clock).expect_err("the replay");
            assert!(
                matches!(
                    error,
                    EnvelopeError::Replayed { .. } | EnvelopeError::Expired { .. }
                ),
                "at {clock} (purged at {now}): {error:?}"
            );
        }
    }
}

/// A flood of valid envelopes used to fill the cache, which then refused every new one,
/// honest ones included. A full cache now forgets the soonest expiring envelope instead.
#[test]
fn a_full_replay_cache_never_turns_an_envelope_away() {
    let mut validator = Validator::new(context(), 1);
    let first = signed_bid().to_bytes();
    validator.validate(&first, NOW).expect("first");
    assert!(
        matches!(
            validator.validate(&first, NOW),
            Err(EnvelopeError::Replayed { .. })
        ),
        "a replay is refused while remembered"
    );
    let mut other = bid();
    other.price += 1;
    let second = SignedEnvelope::sign(&other, &context(), NOW + 60, &key(1)).expect("valid");
    validator
        .validate(&second.to_bytes(), NOW)
        .expect("a full cache makes room");
    validator
        .validate(&second.to_bytes(), NOW)
        .expect_err("the newest is remembered");
}

#[test]
fn batch_isolates_bad_envelopes_and_duplicates() {
    let mut envelopes: Vec<Vec<u8>> = (0..10u128)
        .map(|i| {
            let mut m = bid();
            m.price += i;
            SignedEnvelope::sign(&m, &context(), NOW + 60, &key(i as u8 + 1))
                .expect("valid")
                .to_bytes()
        })
        .collect();
    let mut forged = v1::Envelope::decode(envelopes[4].as_slice()).expect("decodes");
    forged.signature[0] ^= 1;
    envelopes[4] = forged.encode_to_vec();
    envelopes.push(envelopes[7].clone());
    envelopes.push(vec![1, 2, 3]);

    let refs: Vec<&[u8]> = envelopes.iter().map(Vec::as_slice).collect();
    let mut validator = validator();
    let results = validator.validate_batch(&refs, NOW);
    assert_eq!(results.len(), 12);
    // A batch records nothing: the copy of envelope 7 passes like it, and is the
    // caller's to refuse once it accepted the first (it records what it accepts).
    let seventh = results[7].as_ref().expect("valid").id();
    assert_eq!(results[10].as_ref().expect("valid").id(), seventh);
    provernet_protocol::lock_seen(&validator.seen())
        .record(seventh, context().forget_after(NOW + 60), NOW)
        .expect("recorded");
    let again = validator.validate_batch(&refs[7..8], NOW);
    assert!(
        matches!(again[0], Err(EnvelopeError::Replayed { .. })),
        "{:?}",
        again[0]
    );
    for (i, result) in results.iter().enumerate() {
        match i {
            4 => assert_eq!(result.as_ref().err(), Some(&EnvelopeError::BadSignature)),
            10 => assert!(result.is_ok(), "{result:?}"),
            11 => assert!(
                matches!(result, Err(EnvelopeError::Malformed(_))),
                "{result:?}"
            ),
            _ => {
                let bid = result
                    .as_ref()
                    .expect("valid")
                    .open::<Bid>()
                    .expect("a bid");
                assert_eq!(bid.price, 5_000 + i as u128);
            }
        }
    }
}

#[test]
fn an_all_valid_batch_is_accepted_whole() {
    let envelopes: Vec<Vec<u8>> = (0..64u8)
        .map(|i| {
            let mut m = job_request();
            m.nonce = u64::from(i);
            SignedEnvelope::sign(&m, &context(), NOW + 60, &key(i / 8 + 1))
                .expect("ok")
                .to_bytes()
        })
        .collect();
    let refs: Vec<&[u8]> = envelopes.iter().map(Vec::as_slice).collect();
    let results = validator().validate_batch(&refs, NOW);
    assert!(results.iter().all(Result::is_ok));
    let ids: std::collections::HashSet<_> = results
        .iter()
        .flatten()
        .map(|v| v.open::<JobRequest>().expect("ok").job_id())
        .collect();
    assert_eq!(ids.len(), 64, "distinct nonces give distinct job ids");
    // The job id depends on the client and nonce only.
    assert_eq!(job_request().job_id(), job_request().job_id());
    let mut other_client = job_request();
    other_client.client.0[0] ^= 1;
    assert_ne!(other_client.job_id(), job_request().job_id());
}

/// Issue "hostile peers", item 2: a signature whose nonce carries a point of order 8 (only
/// the key's holder can make one) gets one verdict on every path. Nodes that verify it
/// alone and nodes that verify it in a batch, with honest envelopes or with invalid ones,
/// must agree, or the nodes that refused it penalize the honest peers that forwarded it.
#[test]
fn a_signature_with_a_small_order_component_gets_one_verdict_alone_and_in_any_batch() {
    let mut crafted = wire_bid();
    let signed = SignedEnvelope::decode(&crafted.encode_to_vec(), &context(), NOW)
        .expect("decodes")
        .signed_bytes()
        .to_vec();
    crafted.signature = provernet_protocol::ed25519::sign_with_small_order_nonce(&[1; 32], &signed)
        .to_bytes()
        .to_vec();
    let crafted = crafted.encode_to_vec();
    let alone = validator().validate(&crafted, NOW).map(|_| ());
    let honest = SignedEnvelope::sign(&bid(), &context(), NOW + 61, &key(2))
        .expect("valid")
        .to_bytes();
    let mut forged = wire_bid();
    forged.expires_at += 2;
    let forged = forged.encode_to_vec();
    for batch in [
        vec![crafted.as_slice(), honest.as_slice()],
        vec![honest.as_slice(), crafted.as_slice(), forged.as_slice()],
    ] {
        let results = validator().validate_batch(&batch, NOW);
        let position = batch
            .iter()
            .position(|b| *b == crafted.as_slice())
            .expect("in the batch");
        assert_eq!(results[position].is_ok(), alone.is_ok());
        // The honest envelope passes and the forged one fails, whatever their company.
        let honest_at = batch.iter().position(|b| *b == honest.as_slice());
        assert!(honest_at.is_some_and(|i| results[i].is_ok()));
        if let Some(i) = batch.iter().position(|b| *b == forged.as_slice()) {
            assert_eq!(
                results[i].as_ref().map(|_| ()),
                Err(&EnvelopeError::BadSignature)
            );
        }
    }
    // Under ZIP-215 it is valid (the cofactored equation holds); a cofactorless strict
    // check would refuse it while a cofactorless batch accepted it.
    assert_eq!(alone, Ok(()));
}
