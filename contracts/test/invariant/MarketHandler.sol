// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {ProverMarket} from "../../src/ProverMarket.sol";
import {HandlerClaims} from "./HandlerClaims.sol";
import {HandlerState} from "./HandlerState.sol";

/// Drives ProverMarket from three provers, three clients and two watchtowers with bounded
/// random inputs: stakes, deposits, batches (with re-committed and equivocating leaves,
/// invalid proofs, leaves naming an unregistered circuit, with one public input too many or
/// a proof one byte too long, and refused batches: empty, or pricing a leaf beyond 2^128 - 1
/// wei), clients' reservations for provers (reserved and released), claims (one job or
/// several, paid from deposits and reservations; second awards of a job, to another prover), the four challenges and their answers (some with one public
/// input too many; clients buying their jobs' proofs with withheld-proof challenges), finalization, credit withdrawals and circuit registrations the market
/// must refuse. Each action starts at a random actor, batch or challenge and takes the
/// first one it fits (a staked prover to commit, a client with a deposit to withdraw, an
/// open challenge to answer), and returns without calling the market only when none fits;
/// the calls the market must refuse (an unstaked prover committing, a closed window, a
/// challenge no longer open) are still made a fixed share of the time. Every market call
/// goes through try/catch (or a low-level call), so the handler itself never reverts (its
/// ghost variables would be rolled back with it): the handler predicts each outcome from
/// its own model of the market (stakes, deposits, requests, challenges, leaves at risk)
/// and counts any call that did not do what it predicted in `ghost_unexpected`, which an
/// invariant keeps at zero.
///
/// Prover 0 is honest: it commits only proofs that verify, never two different leaves for
/// one job, never a batch after its awards' deadline, accepts (signs) only deadlines it met,
/// and answers every challenge against it within the response window (right after it is
/// opened, or in the window's last block). Provers 1 and 2 do whatever the inputs say.
///
/// Every commit is a direct call of its prover (msg.sender = tx.origin; one dishonest
/// commit in sixteen is not, and is refused), so its input is the transaction's: the
/// handler keeps that input and reads the call's `BatchCommitted` event back
/// (`published`), and the invariants check that each batch was published once, with the
/// root of exactly the leaves of that input, and that `isFinal` holds only for those.
///
/// Its state, model and actions are in the abstract contracts of test/invariant/, each
/// inheriting the one before: HandlerState (state, ghosts, constructor), HandlerModel
/// (views for the invariants, the model and the shared helpers), HandlerFunds (stakes,
/// deposits, credits, reservations, circuits, time), HandlerChallenges (evidence,
/// invalid-proof, equivocation and withheld-proof challenges, reveals), HandlerAnswers
/// (missed-deadline challenges, answers, finalization), HandlerBatches (commits) and
/// HandlerClaims (claims).
contract MarketHandler is HandlerClaims {
    constructor(ProverMarket market_, bytes32 circuit_, address standIn_) HandlerState(market_, circuit_, standIn_) {}
}
