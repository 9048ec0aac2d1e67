//! TikTok Events API 2.0 for web events (spec/destinations.md §6): building the request
//! from a stored Meta-shaped event, sending it, and classifying TikTok's answer.

pub mod body;
pub mod classify;
pub mod client;
