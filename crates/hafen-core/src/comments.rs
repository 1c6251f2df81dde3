//! Comments on files and folders: everyone who can see an item (its owner and the accounts it
//! is shared with) reads and writes its comments; authors edit their own, authors and the
//! item's owner delete. `@name` (or `@"name with spaces"`) mentions an account: if that
//! account can see the item, it gets a notification and an activity entry. Public-link
//! visitors see no comments.

use crate::access::Viewer;
use crate::notifications::Notice;
use crate::{Core, CoreError, CoreResult, TreePath};
use hafen_meta::{Comment, Node, NodeId, User};
use std::collections::HashMap;

/// Longest comment, in characters (Nextcloud's limit too).
pub const COMMENT_MAX_CHARS: usize = 1000;
/// How much of a comment a mention's notification quotes.
const EXCERPT_CHARS: usize = 200;

/// A comment as the protocols show it.
#[derive(Debug, Clone)]
pub struct CommentView {
    pub id: i64,
    pub node: NodeId,
    /// The author's account name (kept when the account is gone).
    pub author: String,
    pub author_display_name: String,
    pub message: String,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    /// Accounts mentioned in the message that exist, as (name, display name).
    pub mentions: Vec<(String, String)>,
    /// The viewer wrote it (and may edit it).
    pub own: bool,
}

/// The account names a message mentions, in order of first appearance: `@name` with
/// letters, digits and `._-@` (a trailing dot ends a sentence, not the name), or `@"…"`.
pub fn mentioned_names(message: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let chars: Vec<char> = message.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '@');
        if chars[i] != '@' || !starts_word {
            i += 1;
            continue;
        }
        let name: String;
        if chars.get(i + 1) == Some(&'"') {
            let rest: String = chars[i + 2..].iter().collect();
            match rest.find('"') {
                Some(end) => {
                    name = rest[..end].to_string();
                    i += 2 + rest[..end].chars().count() + 1;
                }
                None => {
                    i += 1;
                    continue;
                }
            }
        } else {
            let taken: String = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
                .collect();
            i += 1 + taken.chars().count();
            name = taken.trim_end_matches('.').to_string();
        }
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

fn check_message(message: &str) -> CoreResult<String> {
    let message = message.trim();
    if message.is_empty() {
        return Err(CoreError::InvalidInput("a comment needs a message".into()));
    }
    if message.chars().count() > COMMENT_MAX_CHARS {
        return Err(CoreError::InvalidInput(format!("a comment has at most {COMMENT_MAX_CHARS} characters")));
    }
    if message.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(CoreError::InvalidInput("a comment cannot contain control characters".into()));
    }
    Ok(message.to_string())
}

impl Core {
    async fn commentable(&self, who: &Viewer, path: &TreePath) -> CoreResult<(User, Node, User)> {
        self.readable_item(who, path, "comments are for accounts only").await
    }

    /// The comments on the item at `path`, oldest first.
    pub async fn comments(&self, who: &Viewer, path: &TreePath) -> CoreResult<(Node, Vec<CommentView>)> {
        let (user, node, _) = self.commentable(who, path).await?;
        let comments = self.meta.comments(node.id).await?;
        let mut views = Vec::with_capacity(comments.len());
        let mut accounts: HashMap<String, Option<User>> = HashMap::new();
        for comment in comments {
            views.push(self.comment_view(&user, comment, &mut accounts).await?);
        }
        Ok((node, views))
    }

    async fn comment_view(
        &self,
        viewer: &User,
        comment: Comment,
        accounts: &mut HashMap<String, Option<User>>,
    ) -> CoreResult<CommentView> {
        let mut mentions = Vec::new();
        for name in mentioned_names(&comment.message) {
            if !accounts.contains_key(&name) {
                let found = self.meta.user_by_name(&name).await?.filter(|account| !account.is_space);
                accounts.insert(name.clone(), found);
            }
            if let Some(Some(account)) = accounts.get(&name) {
                mentions.push((account.name.clone(), account.display_name.clone()));
            }
        }
        let author_display_name = match comment.author {
            Some(author) => self.meta.user(author).await?.map(|account| account.display_name),
            None => None,
        }
        .unwrap_or_else(|| comment.author_name.clone());
        Ok(CommentView {
            id: comment.id,
            node: comment.node,
            own: comment.author == Some(viewer.id),
            author: comment.author_name,
            author_display_name,
            message: comment.message,
            created_at: comment.created_at,
            edited_at: comment.edited_at,
            mentions,
        })
    }

    /// Adds a comment to the item at `path`; mentioned accounts that can see the item are
    /// notified. Returns the new comment.
    pub async fn add_comment(&self, who: &Viewer, path: &TreePath, message: &str) -> CoreResult<CommentView> {
        let (user, node, owner) = self.commentable(who, path).await?;
        let message = check_message(message)?;
        let comment = Comment {
            id: 0,
            node: node.id,
            author: Some(user.id),
            author_name: user.name.clone(),
            message,
            created_at: self.now(),
            edited_at: None,
        };
        let id = self.meta.add_comment(&comment).await?;
        let view = self.comment_view(&user, Comment { id, ..comment }, &mut HashMap::new()).await?;
        let mut streams = vec![owner.id];
        if user.id != owner.id {
            streams.push(user.id);
        }
        let excerpt: String = view.message.chars().take(EXCERPT_CHARS).collect();
        for (name, _) in &view.mentions {
            let Some(account) = self.meta.user_by_name(name).await? else { continue };
            if account.id == user.id || self.view_path_of(&account, node.id).await.is_err() {
                continue; // never tell someone about an item they cannot see
            }
            let notice = Notice::Mentioned { author: &user.display_name, item: &node.name, comment: &excerpt };
            self.notify(account.id, notice, "comment", &id.to_string()).await;
            if !streams.contains(&account.id) {
                streams.push(account.id);
            }
        }
        self.record_activity(&streams, "comment", &user.name, &node.name, Some(node.id.0)).await;
        Ok(view)
    }

    /// The comment `id` on the item at `path`, or NotFound.
    async fn comment_on(&self, node: &Node, id: i64) -> CoreResult<Comment> {
        self.meta
            .comment(id)
            .await?
            .filter(|comment| comment.node == node.id)
            .ok_or_else(|| CoreError::NotFound(format!("comment {id} does not exist")))
    }

    /// Replaces the message of the viewer's own comment.
    pub async fn edit_comment(&self, who: &Viewer, path: &TreePath, id: i64, message: &str) -> CoreResult<CommentView> {
        let (user, node, _) = self.commentable(who, path).await?;
        let comment = self.comment_on(&node, id).await?;
        if comment.author != Some(user.id) {
            return Err(CoreError::Forbidden("only its author edits a comment".into()));
        }
        let message = check_message(message)?;
        let now = self.now();
        self.meta.edit_comment(id, &message, now).await?;
        self.comment_view(&user, Comment { message, edited_at: Some(now), ..comment }, &mut HashMap::new()).await
    }

    /// Deletes a comment: its author or the item's owner.
    pub async fn delete_comment(&self, who: &Viewer, path: &TreePath, id: i64) -> CoreResult<()> {
        let (user, node, owner) = self.commentable(who, path).await?;
        let comment = self.comment_on(&node, id).await?;
        if comment.author != Some(user.id) && owner.id != user.id {
            return Err(CoreError::Forbidden("only its author or the item's owner deletes a comment".into()));
        }
        self.meta.delete_comment(id).await?;
        Ok(())
    }

    /// How many comments each of `nodes` has (for listings).
    pub async fn comment_counts(&self, nodes: &[NodeId]) -> CoreResult<HashMap<NodeId, i64>> {
        Ok(self.meta.comment_counts(nodes).await?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::mentioned_names;

    #[test]
    fn mentions_are_names_after_an_at_sign() {
        assert_eq!(mentioned_names("@bob bitte prüfen, @carol."), ["bob", "carol"]);
        assert_eq!(
            mentioned_names("an @\"Team Nord\" und @berater@firma.example!"),
            ["Team Nord", "berater@firma.example"]
        );
        assert_eq!(mentioned_names("mail an info@amt.de ist keine Erwähnung"), Vec::<String>::new());
        assert_eq!(mentioned_names("@bob @bob @ @\"offen"), ["bob"]);
        assert_eq!(mentioned_names("(@anna)"), ["anna"]);
    }
}
