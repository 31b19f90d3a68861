//! UI components, a folder each with its CSS. They read narrow pieces of the hub's stores
//! and call hub methods; none owns a transport.

pub mod cards;
pub mod composer;
pub mod icons;
pub mod layout;
pub mod notices;
pub mod pane;
pub mod shortcuts;
pub mod sidebar;
pub mod theme;
pub mod transcript;

/// Loads the views chunk ([`crate::lazy::Chunk::Views`]): one fetch, then every split view's
/// own loader resolves.
#[cfg(feature = "split")]
pub(crate) async fn preload_views() -> Result<(), crate::lazy::NotLoaded> {
    cards::preload().await?;
    shortcuts::preload().await?;
    transcript::preload().await
}
