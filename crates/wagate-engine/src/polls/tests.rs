//! Unit tests of polls: finding a poll in a message, counting and checking
//! votes.

#![cfg(test)]

use super::count::check_selection;
use super::*;

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn poll(count: u32) -> NewPoll {
    NewPoll {
        session_id: "s".into(),
        chat_id: "1@g.us".into(),
        wa_id: "P".into(),
        creator: "628111@s.whatsapp.net".into(),
        name: "Lunch?".into(),
        options: names(&["Rice", "Noodles", "Soup"]),
        selectable_count: count,
        secret: None,
    }
}

#[test]
fn selections_are_checked_and_put_in_order() {
    let p = poll(0);
    assert_eq!(
        check_selection(&p, &names(&["Soup", "Rice"])).unwrap(),
        names(&["Rice", "Soup"])
    );
    assert!(check_selection(&p, &[]).unwrap().is_empty());
    assert!(check_selection(&p, &names(&["Pizza"])).is_err());
    assert!(check_selection(&p, &names(&["Rice", "Rice"])).is_err());
    assert!(check_selection(&poll(1), &names(&["Rice", "Soup"])).is_err());
    assert!(check_selection(&poll(1), &names(&["Soup"])).is_ok());
}

#[test]
fn vote_hashes_name_options() {
    let options = names(&["Rice", "Noodles", "Soup"]);
    let hashes = vec![
        compute_option_hash("Soup").to_vec(),
        compute_option_hash("Rice").to_vec(),
        compute_option_hash("Pizza").to_vec(),
    ];
    assert_eq!(selected_names(&options, &hashes), names(&["Rice", "Soup"]));
    assert!(selected_names(&options, &[]).is_empty());
}

#[test]
fn results_count_standing_votes() {
    let vote = |voter: &str, selected: &[&str]| PollVote {
        voter: voter.into(),
        selected: names(selected),
        voted_at: 0,
    };
    let votes = [
        vote("b", &["Rice"]),
        vote("c", &["Rice", "Soup"]),
        vote("d", &[]),
    ];
    let (options, voters) = tally(&names(&["Rice", "Noodles", "Soup"]), &votes);
    assert_eq!(voters, 2);
    assert_eq!(options[0].voters, names(&["b", "c"]));
    assert!(options[1].voters.is_empty());
    assert_eq!(options[2].voters, names(&["c"]));
}

#[test]
fn polls_of_every_version_are_found() {
    let p = wa::message::PollCreationMessage {
        name: Some("Lunch?".into()),
        options: vec![wa::message::poll_creation_message::Option {
            option_name: Some("Rice".into()),
            option_hash: None,
        }],
        selectable_options_count: Some(1),
        ..Default::default()
    };
    let v3 = wa::Message {
        poll_creation_message_v3: buffa::MessageField::some(p.clone()),
        ..Default::default()
    };
    assert_eq!(
        creation(&v3).and_then(|p| p.name.clone()).as_deref(),
        Some("Lunch?")
    );
    let x = extras(creation(&v3).unwrap());
    assert_eq!(x["poll"]["options"][0], "Rice");
    assert_eq!(x["poll"]["selectableCount"], 1);
    let text = wa::Message {
        conversation: Some("hi".into()),
        ..Default::default()
    };
    assert!(creation(&text).is_none());
}
