//! A poll send and a vote: the requests and their checks, so a poll that
//! WhatsApp would refuse (too few options, twins, a choice count beyond the
//! options) is a 400 `VALIDATION_ERROR` before anything is queued.

use serde::Deserialize;
use utoipa::ToSchema;
use wagate_core::ChatId;
use wagate_core::limits::{
    POLL_NAME_MAX_CHARS, POLL_OPTION_MAX_CHARS, POLL_OPTIONS_MAX, POLL_OPTIONS_MIN,
};
use wagate_engine::queue::SendJob;

use super::parse_chat_id;
use crate::error::ApiError;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendPoll {
    /// `628123456789@c.us`, digits, or `<id>@g.us`.
    #[schema(example = "628123456789@c.us")]
    pub chat_id: String,
    /// The question, 1 to 255 characters.
    #[schema(example = "Lunch?")]
    pub name: String,
    /// 2 to 12 different options, each 1 to 100 characters (spaces around
    /// them are dropped). Votes name them exactly so.
    #[schema(example = json!(["Rice", "Noodles", "Soup"]))]
    pub options: Vec<String>,
    /// How many options a voter may choose: 1 (the default) up to the number
    /// of options; `0` lets a voter choose any number.
    #[serde(default = "single_choice")]
    #[schema(example = 1, minimum = 0, maximum = 12)]
    pub selectable_count: u32,
    /// Makes the poll a quiz with this correct option (one of `options`);
    /// a quiz is single-choice (`selectableCount` 1).
    #[serde(default)]
    pub correct_option: Option<String>,
}

fn single_choice() -> u32 {
    1
}

impl SendPoll {
    /// The checked chat and the job to queue.
    pub fn into_job(self) -> Result<(ChatId, SendJob), ApiError> {
        let chat = parse_chat_id(&self.chat_id)?;
        let name = self.name.trim();
        let n = name.chars().count();
        if n == 0 || n > POLL_NAME_MAX_CHARS {
            return Err(ApiError::validation(format!(
                "name must be 1 to {POLL_NAME_MAX_CHARS} characters"
            )));
        }
        if !(POLL_OPTIONS_MIN..=POLL_OPTIONS_MAX).contains(&self.options.len()) {
            return Err(ApiError::validation(format!(
                "a poll has {POLL_OPTIONS_MIN} to {POLL_OPTIONS_MAX} options (got {})",
                self.options.len()
            )));
        }
        let mut options: Vec<String> = Vec::with_capacity(self.options.len());
        for option in &self.options {
            let option = check_option(option, "options")?;
            if options.contains(&option) {
                return Err(ApiError::validation(format!(
                    "options must differ: '{option}' is there twice"
                )));
            }
            options.push(option);
        }
        if self.selectable_count as usize > options.len() {
            return Err(ApiError::validation(format!(
                "selectableCount is 0 (any number) to {} (the number of options)",
                options.len()
            )));
        }
        let correct_option = match &self.correct_option {
            None => None,
            Some(answer) => {
                let answer = check_option(answer, "correctOption")?;
                if !options.contains(&answer) {
                    return Err(ApiError::validation(format!(
                        "correctOption '{answer}' is not one of the options"
                    )));
                }
                if self.selectable_count != 1 {
                    return Err(ApiError::validation(
                        "a quiz is single-choice: selectableCount must be 1",
                    ));
                }
                Some(answer)
            }
        };
        let job = SendJob::Poll {
            name: name.to_string(),
            options,
            selectable_count: self.selectable_count,
            correct_option,
        };
        Ok((chat, job))
    }
}

/// One option's name: 1 to `POLL_OPTION_MAX_CHARS` characters once the
/// spaces around it are dropped.
fn check_option(raw: &str, field: &str) -> Result<String, ApiError> {
    let option = raw.trim();
    let n = option.chars().count();
    if n == 0 || n > POLL_OPTION_MAX_CHARS {
        return Err(ApiError::validation(format!(
            "{field}: an option is 1 to {POLL_OPTION_MAX_CHARS} characters"
        )));
    }
    Ok(option.to_string())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Vote {
    /// The options chosen, by name (as the poll has them); an empty list
    /// withdraws the vote. At most the poll's `selectableCount`.
    #[schema(example = json!(["Noodles"]))]
    pub selected_options: Vec<String>,
}

impl Vote {
    /// The checked option names (whether the poll has them is the
    /// session's to say).
    pub fn into_names(self) -> Result<Vec<String>, ApiError> {
        if self.selected_options.len() > POLL_OPTIONS_MAX {
            return Err(ApiError::validation(format!(
                "a poll has at most {POLL_OPTIONS_MAX} options"
            )));
        }
        self.selected_options
            .iter()
            .map(|o| check_option(o, "selectedOptions"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wagate_core::ErrorCode;

    fn poll(name: &str, options: &[&str], count: u32) -> SendPoll {
        SendPoll {
            chat_id: "120363025246125888@g.us".into(),
            name: name.into(),
            options: options.iter().map(|s| s.to_string()).collect(),
            selectable_count: count,
            correct_option: None,
        }
    }

    fn quiz(answer: &str, count: u32) -> SendPoll {
        SendPoll {
            correct_option: Some(answer.into()),
            ..poll("2+2?", &["3", "4", "5"], count)
        }
    }

    fn refused(p: SendPoll) -> ErrorCode {
        p.into_job().expect_err("refused").code
    }

    #[test]
    fn a_good_poll_becomes_a_job() {
        let (chat, job) = poll(" Lunch? ", &["Rice", " Noodles ", "Soup"], 1)
            .into_job()
            .unwrap();
        assert_eq!(chat.jid(), "120363025246125888@g.us");
        assert_eq!(
            job,
            SendJob::Poll {
                name: "Lunch?".into(),
                options: vec!["Rice".into(), "Noodles".into(), "Soup".into()],
                selectable_count: 1,
                correct_option: None,
            }
        );
        assert!(poll("Q", &["a", "b"], 0).into_job().is_ok());
        assert!(poll("Q", &["a", "b"], 2).into_job().is_ok());
        let twelve: Vec<String> = (0..12).map(|i| format!("o{i}")).collect();
        let twelve: Vec<&str> = twelve.iter().map(String::as_str).collect();
        assert!(poll("Q", &twelve, 12).into_job().is_ok());
        assert!(poll(&"q".repeat(255), &["a", "b"], 1).into_job().is_ok());
        assert!(poll("Q", &[&"o".repeat(100), "b"], 1).into_job().is_ok());
    }

    #[test]
    fn bad_polls_are_validation_errors() {
        let v = ErrorCode::ValidationError;
        assert_eq!(refused(poll("", &["a", "b"], 1)), v);
        assert_eq!(refused(poll("   ", &["a", "b"], 1)), v);
        assert_eq!(refused(poll(&"q".repeat(256), &["a", "b"], 1)), v);
        assert_eq!(refused(poll("Q", &["a"], 1)), v);
        assert_eq!(refused(poll("Q", &[], 0)), v);
        let thirteen: Vec<String> = (0..13).map(|i| format!("o{i}")).collect();
        let thirteen: Vec<&str> = thirteen.iter().map(String::as_str).collect();
        assert_eq!(refused(poll("Q", &thirteen, 1)), v);
        assert_eq!(refused(poll("Q", &["a", " "], 1)), v);
        assert_eq!(refused(poll("Q", &["a", &"o".repeat(101)], 1)), v);
        assert_eq!(refused(poll("Q", &["a", "a "], 1)), v);
        assert_eq!(refused(poll("Q", &["a", "b"], 3)), v);
    }

    #[test]
    fn quizzes_name_one_of_their_options_and_are_single_choice() {
        let (_, job) = quiz(" 4 ", 1).into_job().unwrap();
        assert!(matches!(job, SendJob::Poll { correct_option: Some(a), .. } if a == "4"));
        let v = ErrorCode::ValidationError;
        assert_eq!(refused(quiz("6", 1)), v);
        assert_eq!(refused(quiz("", 1)), v);
        assert_eq!(refused(quiz("4", 2)), v);
        assert_eq!(refused(quiz("4", 0)), v);
    }

    #[test]
    fn a_bad_chat_is_named_as_such() {
        let mut p = poll("Q", &["a", "b"], 1);
        p.chat_id = "not a chat".into();
        assert_eq!(refused(p), ErrorCode::MessageInvalidChatId);
    }

    #[test]
    fn votes_name_options() {
        let vote = |names: &[&str]| Vote {
            selected_options: names.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(vote(&[" Rice "]).into_names().unwrap(), vec!["Rice"]);
        assert!(vote(&[]).into_names().unwrap().is_empty());
        assert!(vote(&[""]).into_names().is_err());
        let many: Vec<String> = (0..13).map(|i| format!("o{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(vote(&many).into_names().is_err());
    }
}
