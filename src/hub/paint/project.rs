//! The shown session's view, projected from its runtime into the store's data: the markdown
//! HTML of each item rendered once (cached by content), the live turn's shape and its tail.

use super::*;

/// Per-session render caches: markdown is rendered once per item / sealed segment.
#[derive(Default)]
pub(super) struct Cache {
    pub(super) transcript_rev: Option<u64>,
    pub(super) items: HashMap<u64, (u64, Arc<Item>)>,
    pub(super) sealed: HashMap<(usize, usize), Arc<str>>,
}

pub(super) fn hash_of(parts: impl Hash) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

/// What a session's view shows (computed under the hub borrow, written after it).
pub(super) struct Projection {
    #[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
    pub(super) revision: u64,
    pub(super) state: pane_core::view::PaneState,
    pub(super) items: Option<Vec<Arc<Item>>>,
    pub(super) live: Option<Arc<LiveView>>,
    pub(super) tail: Arc<str>,
}

pub(super) fn render_markdown(text: &str, session: &str) -> Arc<str> {
    Arc::from(crate::markdown::message_html(text, session))
}

/// The transcript's items, rendered (an unchanged item is reused as it was).
pub(super) fn project_items(rt: &pane_core::SessionRuntime, cache: &mut Cache) -> Vec<Arc<Item>> {
    let mut fresh = HashMap::new();
    let settled = transcript(rt);
    let usage = turn_usage(rt, &settled);
    let total = rt.messages_offset() + rt.messages().len() as u64;
    let forks = pane_core::view::fork_counts(&settled, total);
    let markdown = crate::markdown::generation();
    let items = settled
        .into_iter()
        .enumerate()
        .map(|(at, t)| {
            let key = t.key();
            // The latest turn's usage line is part of what its item shows.
            let line = usage
                .as_ref()
                .filter(|(u, _)| *u == at)
                .map(|(_, l)| l.clone());
            let fork = forks[at];
            let content = hash_of((t.content_hash(), &line, fork));
            if let Some((h, item)) = cache.items.get(&key) {
                if *h == content {
                    fresh.insert(key, (content, item.clone()));
                    return item.clone();
                }
            }
            let kind = match t {
                TranscriptItem::User {
                    text,
                    attachments,
                    key,
                } => ItemKind::User {
                    text,
                    attachments,
                    index: (key - 1) / 2,
                },
                TranscriptItem::Assistant {
                    text,
                    reasoning,
                    tools,
                    error,
                    partial,
                    details,
                    duration,
                    tps,
                    ..
                } => ItemKind::Assistant {
                    html: crate::markdown::rendered_message(&text, rt.id()).map(Arc::from),
                    text: Arc::from(text.as_str()),
                    reasoning,
                    tools,
                    error,
                    partial,
                    details,
                    usage: line.unwrap_or_else(|| usage_line(None, None, tps, duration)),
                    fork,
                },
                TranscriptItem::Divider { text, .. } => ItemKind::Divider { text },
            };
            // Only an assistant message renders markdown: a user message (maybe with its edit
            // box open) is not rebuilt when the renderer arrives.
            let rendered = matches!(kind, ItemKind::Assistant { .. }).then_some(markdown);
            let item = Arc::new(Item {
                key,
                version: hash_of((content, rendered)),
                kind,
            });
            fresh.insert(key, (content, item.clone()));
            item
        })
        .collect();
    cache.items = fresh;
    items
}

pub(super) fn project_live(
    l: &pane_core::turn::LiveTurn,
    session: &str,
    cache: &mut Cache,
) -> (LiveView, Arc<str>) {
    let last = l.segments.len().saturating_sub(1);
    let mut tail: Arc<str> = Arc::from("");
    let markdown = crate::markdown::generation();
    let segs = l
        .segments
        .iter()
        .enumerate()
        .map(|(idx, s)| match s {
            Segment::Text { text, sealed } if !sealed && idx == last => {
                tail = Arc::from(text.as_str());
                LiveSeg {
                    key: hash_of((idx, 0u8)),
                    kind: LiveSegKind::TextTail,
                }
            }
            Segment::Text { text, .. } => {
                let html = cache
                    .sealed
                    .entry((idx, text.len()))
                    .or_insert_with(|| render_markdown(text, session))
                    .clone();
                // Rebuilt once when the renderer arrives (it was plain text before).
                LiveSeg {
                    key: hash_of((idx, 1u8, text.len(), markdown)),
                    kind: LiveSegKind::Text { html },
                }
            }
            Segment::Reasoning { text, sealed } if !sealed && idx == last => {
                tail = Arc::from(text.as_str());
                LiveSeg {
                    key: hash_of((idx, 2u8)),
                    kind: LiveSegKind::Reasoning {
                        text: Arc::from(""),
                        live: true,
                    },
                }
            }
            Segment::Reasoning { text, .. } => LiveSeg {
                key: hash_of((idx, 3u8, text.len())),
                kind: LiveSegKind::Reasoning {
                    text: Arc::from(text.as_str()),
                    live: false,
                },
            },
            // Keyed by position and call id only: a card that completes updates in place (an
            // expanded card stays expanded).
            Segment::Tool(card) => LiveSeg {
                key: hash_of((idx, 4u8, &card.tid, &card.name)),
                kind: LiveSegKind::Tool(card.clone()),
            },
        })
        .collect();
    (
        LiveView {
            user: l.user_text.clone(),
            attachments: l.attachments.clone(),
            segs,
            compressing: l.compressing.clone(),
            steers: l.steers.clone(),
        },
        tail,
    )
}

/// Whether two live views have the same shape (segments, cards): only the tail text differs.
pub(super) fn same_shape(a: &Option<Arc<LiveView>>, b: &Option<Arc<LiveView>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.user == b.user
                && a.attachments == b.attachments
                && a.compressing == b.compressing
                && a.steers == b.steers
                && a.segs.len() == b.segs.len()
                && a.segs.iter().zip(&b.segs).all(|(x, y)| {
                    x.key == y.key
                        && match (&x.kind, &y.kind) {
                            (LiveSegKind::Tool(c), LiveSegKind::Tool(d)) => c == d,
                            _ => true,
                        }
                })
        }
        _ => false,
    }
}

pub(super) fn project(i: &mut Inner, id: &str) -> Option<Projection> {
    let rt = i.core.session(id)?;
    let cache = i.painter.cache.entry(rt.id().to_string()).or_default();
    let items = (cache.transcript_rev != Some(rt.transcript_revision())).then(|| {
        cache.transcript_rev = Some(rt.transcript_revision());
        project_items(rt, cache)
    });
    let (live, tail) = match rt.live() {
        Some(l) if !(l.segments.is_empty() && l.user_text.is_none()) => {
            let (v, t) = project_live(l, rt.id(), cache);
            (Some(Arc::new(v)), t)
        }
        _ => (None, Arc::from("")),
    };
    if rt.live().is_none() {
        cache.sealed.clear();
    }
    let row = i.rows.iter().find(|r| r.session_id == rt.id());
    Some(Projection {
        revision: rt.revision(),
        state: pane_state(rt, row),
        items,
        live,
        tail,
    })
}
