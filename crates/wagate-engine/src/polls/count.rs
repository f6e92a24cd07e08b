//! Counting votes: the options a decrypted vote names, a vote's choices
//! checked against its poll, and a poll's results from each voter's latest
//! vote. Pure functions, no I/O.

use wagate_store::app::{NewPoll, PollVote};
use whatsapp_rust::wacore::poll::compute_option_hash;

use crate::error::EngineError;

/// The option names whose hashes a decrypted vote lists, in the poll's
/// order (a hash that names no option is ignored).
pub fn selected_names(options: &[String], hashes: &[Vec<u8>]) -> Vec<String> {
    options
        .iter()
        .filter(|name| {
            let hash = compute_option_hash(name);
            hashes.iter().any(|h| h.as_slice() == hash)
        })
        .cloned()
        .collect()
}

/// One option's count in a poll's results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionTally {
    pub name: String,
    /// The voters (JIDs) who chose it, in the order they last voted.
    pub voters: Vec<String>,
}

/// A poll's results from each voter's latest vote: every option with the
/// voters who chose it, and how many voters have a vote standing (a
/// withdrawn vote counts for nothing).
pub fn tally(options: &[String], votes: &[PollVote]) -> (Vec<OptionTally>, usize) {
    let mut out: Vec<OptionTally> = options
        .iter()
        .map(|name| OptionTally {
            name: name.clone(),
            voters: Vec::new(),
        })
        .collect();
    let mut voters = 0;
    for vote in votes {
        let mut counted = false;
        for option in out.iter_mut() {
            if vote.selected.contains(&option.name) {
                option.voters.push(vote.voter.clone());
                counted = true;
            }
        }
        voters += usize::from(counted);
    }
    (out, voters)
}

/// The options named `selected`, in the poll's order: each one of the
/// poll's, none twice, and no more than the poll lets a voter choose.
pub(crate) fn check_selection(
    poll: &NewPoll,
    selected: &[String],
) -> Result<Vec<String>, EngineError> {
    for (i, name) in selected.iter().enumerate() {
        if !poll.options.contains(name) {
            return Err(EngineError::Invalid(format!(
                "'{name}' is not an option of this poll (options: {})",
                poll.options.join(", ")
            )));
        }
        if selected[..i].contains(name) {
            return Err(EngineError::Invalid(format!("'{name}' is chosen twice")));
        }
    }
    let allowed = poll.selectable_count as usize;
    if allowed > 0 && selected.len() > allowed {
        return Err(EngineError::Invalid(format!(
            "this poll lets a voter choose at most {allowed} option(s)"
        )));
    }
    Ok(poll
        .options
        .iter()
        .filter(|o| selected.contains(o))
        .cloned()
        .collect())
}
