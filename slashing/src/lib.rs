//! The chain side of provernet (issue "Chain").
//!
//! Owned here: typed bindings to the contracts in `contracts/` (stake registry, client
//! deposits, `commitBatch`, claims, the four challenge kinds and the circuit registry),
//! deployment, EIP-712 signing and recovery of bids, awards and acceptances, builders for
//! each kind of slashing evidence, a client that checks evidence with `eth_call` before
//! paying gas, submits it and maps every custom revert to a typed error, and event streams
//! for commitments, challenges and slashes.
//!
//! Nothing is implemented yet. The batch Merkle tree the contracts check lives in
//! `provernet_protocol::merkle`, since provers and watchtowers need it off chain too.
