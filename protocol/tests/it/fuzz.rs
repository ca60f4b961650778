//! Fuzzing the decoders with proptest: arbitrary bytes and mutated valid envelopes never
//! panic, and a mutation is only ever accepted when it leaves the signed content intact.

use proptest::collection::vec;
use proptest::prelude::*;
use provernet_protocol::{
    Acceptance, Award, Bid, ChallengeNotice, CommitmentNotice, InputRequest, InputResponse,
    JobRequest, Payload, ProofRequest, ProofResponse, ProverAdvert, SeenCache, SignedEnvelope,
    Validator,
};

use crate::support::*;

fn decode_all_kinds(bytes: &[u8]) {
    // Results do not matter; panics do.
    let _ = JobRequest::decode(bytes);
    let _ = Bid::decode(bytes);
    let _ = Award::decode(bytes);
    let _ = Acceptance::decode(bytes);
    let _ = InputRequest::decode(bytes);
    let _ = InputResponse::decode(bytes);
    let _ = ProofRequest::decode(bytes);
    let _ = ProofResponse::decode(bytes);
    let _ = CommitmentNotice::decode(bytes);
    let _ = ChallengeNotice::decode(bytes);
    let _ = ProverAdvert::decode(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_validate_or_panic(bytes in vec(any::<u8>(), 0..2048)) {
        let mut validator = Validator::new(context(), 16);
        prop_assert!(validator.validate(&bytes, NOW).is_err());
        decode_all_kinds(&bytes);
    }

    #[test]
    fn mutated_envelopes_are_rejected_unless_content_is_intact(
        message in arb_commitment(),
        flips in vec((any::<prop::sample::Index>(), 1..=255u8), 1..4),
    ) {
        let envelope = SignedEnvelope::sign(&message, &context(), NOW + 60, &key(1)).expect("valid");
        let mut bytes = envelope.to_bytes();
        for (index, mask) in &flips {
            let i = index.index(bytes.len());
            bytes[i] ^= mask;
        }
        let mut validator = Validator::new(context(), SeenCache::DEFAULT_CAPACITY);
        if let Ok(verified) = validator.validate(&bytes, NOW) {
            // Only a change outside the signed content (protobuf framing) can pass.
            prop_assert_eq!(verified.id(), envelope.id());
            prop_assert_eq!(verified.open::<CommitmentNotice>().expect("intact"), message);
        }
        decode_all_kinds(&bytes);
    }

    #[test]
    fn mutated_payloads_never_panic(
        message in arb_proof_response(),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = message.encode_to_vec();
        for (index, value) in &flips {
            let i = index.index(bytes.len());
            bytes[i] = *value;
        }
        decode_all_kinds(&bytes);
    }
}
