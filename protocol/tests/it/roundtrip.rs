//! Every wire ↔ domain conversion round-trips, alone and inside a signed envelope.

use std::fmt::Debug;

use proptest::prelude::*;
use provernet_protocol::{Payload, SeenCache, SignedEnvelope, Validator};

use crate::support::*;

/// domain → wire → bytes → wire → domain is the identity; so is signing, encoding,
/// validating and opening an envelope.
fn round_trip<P: Payload + PartialEq + Debug>(message: &P) {
    let bytes = message.encode_to_vec();
    let wire = <P::Wire as prost::Message>::decode(bytes.as_slice()).expect("decodes");
    assert_eq!(&P::from_wire(wire).expect("valid"), message);

    let envelope = SignedEnvelope::sign(message, &context(), NOW + 60, &key(1)).expect("signable");
    let mut validator = Validator::new(context(), SeenCache::DEFAULT_CAPACITY);
    let verified = validator
        .validate(&envelope.to_bytes(), NOW)
        .expect("valid envelope");
    assert_eq!(verified.kind(), P::KIND);
    assert_eq!(verified.signer(), &peer(1));
    assert_eq!(verified.id(), envelope.id());
    assert_eq!(&verified.open::<P>().expect("opens"), message);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn job_request(m in arb_job_request()) { round_trip(&m) }

    #[test]
    fn bid(m in arb_bid()) { round_trip(&m) }

    #[test]
    fn award(m in arb_award()) { round_trip(&m) }

    #[test]
    fn acceptance(m in arb_acceptance()) { round_trip(&m) }

    #[test]
    fn prover_advert(m in arb_advert()) { round_trip(&m) }

    #[test]
    fn input_request(m in arb_input_request()) { round_trip(&m) }

    #[test]
    fn input_response(m in arb_input_response()) { round_trip(&m) }

    #[test]
    fn proof_request(m in arb_proof_request()) { round_trip(&m) }

    #[test]
    fn proof_response(m in arb_proof_response()) { round_trip(&m) }

    #[test]
    fn commitment_notice(m in arb_commitment()) { round_trip(&m) }

    #[test]
    fn challenge_notice(m in arb_challenge()) { round_trip(&m) }
}
