//! EIP-712 typed data of the promises the chain enforces, exactly as `ProverMarket`
//! hashes them (domain "provernet", version "1", the chain id and the market's address).
//!
//! - `Bid(bytes32 jobId,uint256 price,uint64 deadline)`, signed by the prover (checked by
//!   nodes only: the contract never sees a bid);
//! - `Award(bytes32 jobId,address prover,uint256 price,uint64 deadline,bytes32 circuitId,bytes32 publicInputsHash)`,
//!   signed by the client. It binds the statement paid for: the circuit and the hash of
//!   the public inputs the client computed from its witness, so only a leaf of that
//!   statement can be claimed with it;
//! - `Acceptance(bytes32 jobId,address client,bytes32 inputHash,uint256 price,uint64 deadline,bytes32 circuitId,bytes32 publicInputsHash)`,
//!   signed by the prover once it holds the inputs and computed the same statement from
//!   them. It names the client because a job id is only unique per client: without it, an
//!   acceptance could be replayed against another client's job with the same id.
//!
//! Signatures are 65 bytes `r ‖ s ‖ v` with v = 27 or 28, as OpenZeppelin's ECDSA takes
//! them; [`compact`] turns one into ERC-2098's `(r, vs)` for `claimBatch`.

use ethers::abi::{Token, encode};
use ethers::signers::LocalWallet;
use ethers::types::{Address, H256, Signature, U256};
use ethers::utils::keccak256;

/// The market's signing domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Domain {
    /// The chain's id.
    pub chain_id: u64,
    /// The market contract.
    pub market: Address,
}

/// A prover's bid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bid {
    /// The job.
    pub job_id: [u8; 32],
    /// The asked price (wei).
    pub price: U256,
    /// The promised deadline (unix seconds).
    pub deadline: u64,
}

/// A client's award.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Award {
    /// The job.
    pub job_id: [u8; 32],
    /// The winner.
    pub prover: Address,
    /// The price (wei).
    pub price: U256,
    /// The deadline (unix seconds).
    pub deadline: u64,
    /// The statement's circuit.
    pub circuit_id: [u8; 32],
    /// keccak256 of the statement's public inputs (32-byte words).
    pub public_inputs_hash: [u8; 32],
}

/// A prover's acceptance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acceptance {
    /// The job.
    pub job_id: [u8; 32],
    /// The job's client.
    pub client: Address,
    /// keccak256 of the inputs the prover received.
    pub input_hash: [u8; 32],
    /// The price (wei).
    pub price: U256,
    /// The deadline (unix seconds).
    pub deadline: u64,
    /// The statement's circuit, as awarded.
    pub circuit_id: [u8; 32],
    /// keccak256 of the statement's public inputs, as awarded.
    pub public_inputs_hash: [u8; 32],
}

/// A client's request, signed so that only the key it names may gossip the job id. The
/// contract never sees it: nodes check it (job ids derive from the client's address, so
/// without it anyone could publish a client's next job id first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// The job.
    pub job_id: [u8; 32],
    /// The ed25519 key that signs the request's envelope and awards.
    pub peer_key: [u8; 32],
    /// The circuit.
    pub circuit_id: [u8; 32],
    /// keccak256 of the inputs.
    pub input_hash: [u8; 32],
    /// The statement: keccak256 of the public inputs the inputs give.
    pub public_inputs_hash: [u8; 32],
    /// The most the client pays (wei).
    pub max_price: U256,
    /// The proving deadline (unix seconds).
    pub deadline: u64,
}

fn type_hash(ty: &str) -> [u8; 32] {
    keccak256(ty.as_bytes())
}

impl Domain {
    /// The domain separator.
    pub fn separator(&self) -> [u8; 32] {
        keccak256(encode(&[
            Token::FixedBytes(
                type_hash(
                    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
                )
                .to_vec(),
            ),
            Token::FixedBytes(keccak256(b"provernet").to_vec()),
            Token::FixedBytes(keccak256(b"1").to_vec()),
            Token::Uint(self.chain_id.into()),
            Token::Address(self.market),
        ]))
    }

    /// keccak256(0x1901 ‖ separator ‖ struct hash).
    fn digest(&self, struct_hash: [u8; 32]) -> H256 {
        let mut bytes = Vec::with_capacity(66);
        bytes.extend_from_slice(&[0x19, 0x01]);
        bytes.extend_from_slice(&self.separator());
        bytes.extend_from_slice(&struct_hash);
        H256(keccak256(bytes))
    }

    /// The digest a prover signs to bid.
    pub fn bid_digest(&self, bid: &Bid) -> H256 {
        self.digest(keccak256(encode(&[
            Token::FixedBytes(
                type_hash("Bid(bytes32 jobId,uint256 price,uint64 deadline)").to_vec(),
            ),
            Token::FixedBytes(bid.job_id.to_vec()),
            Token::Uint(bid.price),
            Token::Uint(bid.deadline.into()),
        ])))
    }

    /// The digest a client signs to award.
    pub fn award_digest(&self, award: &Award) -> H256 {
        self.digest(keccak256(encode(&[
            Token::FixedBytes(
                type_hash(
                    "Award(bytes32 jobId,address prover,uint256 price,uint64 deadline,bytes32 circuitId,bytes32 publicInputsHash)",
                )
                .to_vec(),
            ),
            Token::FixedBytes(award.job_id.to_vec()),
            Token::Address(award.prover),
            Token::Uint(award.price),
            Token::Uint(award.deadline.into()),
            Token::FixedBytes(award.circuit_id.to_vec()),
            Token::FixedBytes(award.public_inputs_hash.to_vec()),
        ])))
    }

    /// The digest a client signs for a request.
    pub fn request_digest(&self, request: &Request) -> H256 {
        self.digest(keccak256(encode(&[
            Token::FixedBytes(
                type_hash(
                    "Request(bytes32 jobId,bytes32 peerKey,bytes32 circuitId,bytes32 inputHash,bytes32 publicInputsHash,uint256 maxPrice,uint64 deadline)",
                )
                .to_vec(),
            ),
            Token::FixedBytes(request.job_id.to_vec()),
            Token::FixedBytes(request.peer_key.to_vec()),
            Token::FixedBytes(request.circuit_id.to_vec()),
            Token::FixedBytes(request.input_hash.to_vec()),
            Token::FixedBytes(request.public_inputs_hash.to_vec()),
            Token::Uint(request.max_price),
            Token::Uint(request.deadline.into()),
        ])))
    }

    /// The digest a prover signs to accept.
    pub fn acceptance_digest(&self, acceptance: &Acceptance) -> H256 {
        self.digest(keccak256(encode(&[
            Token::FixedBytes(
                type_hash(
                    "Acceptance(bytes32 jobId,address client,bytes32 inputHash,uint256 price,uint64 deadline,bytes32 circuitId,bytes32 publicInputsHash)",
                )
                .to_vec(),
            ),
            Token::FixedBytes(acceptance.job_id.to_vec()),
            Token::Address(acceptance.client),
            Token::FixedBytes(acceptance.input_hash.to_vec()),
            Token::Uint(acceptance.price),
            Token::Uint(acceptance.deadline.into()),
            Token::FixedBytes(acceptance.circuit_id.to_vec()),
            Token::FixedBytes(acceptance.public_inputs_hash.to_vec()),
        ])))
    }
}

/// Signs `digest` with `wallet`: 65 bytes `r ‖ s ‖ v`, v = 27 or 28.
///
/// # Errors
/// If the wallet cannot sign (a local key always can).
pub fn sign(wallet: &LocalWallet, digest: H256) -> Result<[u8; 65], ethers::signers::WalletError> {
    let signature = wallet.sign_hash(digest)?;
    Ok(to_bytes(&signature))
}

fn to_bytes(signature: &Signature) -> [u8; 65] {
    let mut out = [0u8; 65];
    signature.r.to_big_endian(&mut out[..32]);
    signature.s.to_big_endian(&mut out[32..64]);
    // A LocalWallet's v is 27 or 28 for a bare hash.
    out[64] = u8::try_from(signature.v).unwrap_or(0);
    out
}

/// The address that signed `digest`, or `None` for a malformed or non-canonical
/// signature (high s, v not 27/28), which the contract refuses too.
pub fn recover(digest: H256, signature: &[u8]) -> Option<Address> {
    let bytes: &[u8; 65] = signature.try_into().ok()?;
    let s = U256::from_big_endian(&bytes[32..64]);
    // secp256k1n / 2: OpenZeppelin refuses larger s.
    let half_n = U256::from_str_radix(
        "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0",
        16,
    )
    .ok()?;
    if s > half_n || !(bytes[64] == 27 || bytes[64] == 28) {
        return None;
    }
    let signature = Signature {
        r: U256::from_big_endian(&bytes[..32]),
        s,
        v: bytes[64].into(),
    };
    signature.recover(digest).ok()
}

/// ERC-2098's compact form `(r, vs)` of a 65-byte signature: the parity of v in the top
/// bit of s. `None` if the signature is not 65 bytes with v = 27 or 28.
pub fn compact(signature: &[u8]) -> Option<([u8; 32], [u8; 32])> {
    let bytes: &[u8; 65] = signature.try_into().ok()?;
    let parity = match bytes[64] {
        27 => 0,
        28 => 1,
        _ => return None,
    };
    let mut r = [0u8; 32];
    r.copy_from_slice(&bytes[..32]);
    let mut vs = [0u8; 32];
    vs.copy_from_slice(&bytes[32..64]);
    vs[0] |= parity << 7;
    Some((r, vs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ethers::signers::Signer;

    /// The 65-byte signature `(r, s, v)` of ERC-2098's compact form `(r, vs)`: the
    /// inverse of [`compact`], which the contract applies.
    fn expand(r: [u8; 32], vs: [u8; 32]) -> [u8; 65] {
        let mut signature = [0u8; 65];
        signature[..32].copy_from_slice(&r);
        signature[32..64].copy_from_slice(&vs);
        signature[32] &= 0x7f;
        signature[64] = 27 + (vs[0] >> 7);
        signature
    }

    fn wallet() -> LocalWallet {
        "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
            .parse()
            .expect("key")
    }

    fn domain() -> Domain {
        Domain {
            chain_id: 31337,
            market: Address::repeat_byte(0x11),
        }
    }

    #[test]
    fn a_signature_recovers_its_signer_and_nothing_else() {
        let award = Award {
            job_id: [7; 32],
            prover: Address::repeat_byte(2),
            price: 5u64.into(),
            deadline: 1_700_000_000,
            circuit_id: [8; 32],
            public_inputs_hash: [9; 32],
        };
        let digest = domain().award_digest(&award);
        let signature = sign(&wallet(), digest).expect("signs");
        assert_eq!(recover(digest, &signature), Some(wallet().address()));
        let other = domain().award_digest(&Award {
            price: 6u64.into(),
            ..award
        });
        assert_ne!(recover(other, &signature), Some(wallet().address()));
        // Another statement is another award.
        let other_statement = domain().award_digest(&Award {
            public_inputs_hash: [10; 32],
            ..award
        });
        assert_ne!(
            recover(other_statement, &signature),
            Some(wallet().address())
        );
        assert_eq!(recover(digest, &signature[..64]), None);
        let mut bad_v = signature;
        bad_v[64] = 1;
        assert_eq!(recover(digest, &bad_v), None);
    }

    #[test]
    fn digests_separate_types_chains_and_markets() {
        let bid = Bid {
            job_id: [1; 32],
            price: 9u64.into(),
            deadline: 3,
        };
        let d = domain();
        assert_ne!(
            d.bid_digest(&bid),
            Domain { chain_id: 1, ..d }.bid_digest(&bid)
        );
        assert_ne!(
            d.bid_digest(&bid),
            Domain {
                market: Address::zero(),
                ..d
            }
            .bid_digest(&bid)
        );
        let acceptance = Acceptance {
            job_id: [1; 32],
            client: Address::repeat_byte(3),
            input_hash: [4; 32],
            price: 9u64.into(),
            deadline: 3,
            circuit_id: [5; 32],
            public_inputs_hash: [6; 32],
        };
        assert_ne!(d.bid_digest(&bid), d.acceptance_digest(&acceptance));
    }

    #[test]
    fn compact_form_keeps_the_parity_in_the_top_bit() {
        let digest = domain().bid_digest(&Bid {
            job_id: [1; 32],
            price: 1u64.into(),
            deadline: 1,
        });
        let signature = sign(&wallet(), digest).expect("signs");
        let (r, vs) = compact(&signature).expect("65 bytes");
        assert_eq!(
            expand(r, vs).to_vec(),
            signature.to_vec(),
            "expand inverts compact"
        );
        assert_eq!(r[..], signature[..32]);
        assert_eq!(vs[0] >> 7, signature[64] - 27);
        assert_eq!(vs[0] & 0x7f, signature[32] & 0x7f);
        assert_eq!(compact(&signature[..64]), None);
    }
}
