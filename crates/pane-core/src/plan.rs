//! The agent's plan: its todo list (`todo_state` events while a turn runs; the session's
//! `todo_state` after a reload, which the backend derives from the latest `todo` tool result)
//! as the pane shows it.

use serde_json::Value;

use crate::wire::TodoState;

/// Where an item of the plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    Pending,
    InProgress,
    Completed,
    Cancelled,
}

impl ItemStatus {
    /// The backend's word (an unknown one reads as pending, as the stock UI has it).
    pub fn parse(s: &str) -> ItemStatus {
        match s {
            "in_progress" => ItemStatus::InProgress,
            "completed" | "done" => ItemStatus::Completed,
            "cancelled" | "canceled" => ItemStatus::Cancelled,
            _ => ItemStatus::Pending,
        }
    }

    /// For `data-status` and CSS.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Pending => "pending",
            ItemStatus::InProgress => "in_progress",
            ItemStatus::Completed => "completed",
            ItemStatus::Cancelled => "cancelled",
        }
    }

    /// What a screen reader hears before the item.
    pub fn label(self) -> &'static str {
        match self {
            ItemStatus::Pending => "To do",
            ItemStatus::InProgress => "In progress",
            ItemStatus::Completed => "Done",
            ItemStatus::Cancelled => "Cancelled",
        }
    }
}

/// One item of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanItem {
    pub id: String,
    pub content: String,
    pub status: ItemStatus,
}

/// The plan as the pane shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanView {
    pub items: Vec<PlanItem>,
    /// Items completed (cancelled ones count as settled, not done).
    pub done: usize,
    /// Items that are not cancelled.
    pub total: usize,
}

impl PlanView {
    /// "Plan · 2/5 done".
    pub fn heading(&self) -> String {
        format!("Plan · {}/{} done", self.done, self.total)
    }

    /// The item being worked on, if any.
    pub fn current(&self) -> Option<&PlanItem> {
        self.items
            .iter()
            .find(|i| i.status == ItemStatus::InProgress)
    }
}

/// The plan of a snapshot; `None` when it has no items (a cleared list shows nothing). Items
/// without text are skipped; text is shown as text (never markup).
pub fn plan(state: &TodoState) -> Option<PlanView> {
    let items: Vec<PlanItem> = state
        .todos
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let content = field(v, "content").or_else(|| field(v, "text"))?;
            let content = content.trim();
            if content.is_empty() {
                return None;
            }
            Some(PlanItem {
                id: field(v, "id").unwrap_or_else(|| (i + 1).to_string()),
                content: content.chars().take(500).collect(),
                status: ItemStatus::parse(&field(v, "status").unwrap_or_default()),
            })
        })
        .collect();
    if items.is_empty() {
        return None;
    }
    let done = items
        .iter()
        .filter(|i| i.status == ItemStatus::Completed)
        .count();
    let total = items
        .iter()
        .filter(|i| i.status != ItemStatus::Cancelled)
        .count();
    Some(PlanView { items, done, total })
}

fn field(v: &Value, name: &str) -> Option<String> {
    match v.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state(todos: Value) -> TodoState {
        TodoState {
            todos: todos.as_array().cloned().unwrap_or_default(),
            ..Default::default()
        }
    }

    #[test]
    fn a_snapshot_becomes_the_plan_with_its_progress() {
        let p = plan(&state(json!([
            {"id": "1", "content": "Read the code", "status": "completed"},
            {"id": "2", "content": "Write the fix", "status": "in_progress"},
            {"id": "3", "content": "Run the tests", "status": "pending"},
            {"id": "4", "content": "Gold-plate", "status": "cancelled"},
        ])))
        .expect("a plan");
        assert_eq!(p.items.len(), 4);
        assert_eq!((p.done, p.total), (1, 3));
        assert_eq!(p.heading(), "Plan · 1/3 done");
        assert_eq!(
            p.current().map(|i| i.content.as_str()),
            Some("Write the fix")
        );
    }

    #[test]
    fn an_empty_or_malformed_list_shows_nothing_and_odd_items_are_read_kindly() {
        assert_eq!(plan(&state(json!([]))), None);
        assert_eq!(plan(&state(json!([{"status": "pending"}, 7, null]))), None);
        let p = plan(&state(
            json!([{"text": "legacy", "status": "weird", "id": 3}]),
        ))
        .unwrap();
        assert_eq!(p.items[0].status, ItemStatus::Pending);
        assert_eq!(p.items[0].id, "3");
        assert_eq!(p.items[0].content, "legacy");
    }
}
