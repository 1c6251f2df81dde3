//! WebDAV XML: parsing request bodies (PROPFIND, PROPPATCH, LOCK) into typed values and
//! writing multistatus responses.
//!
//! Parsing is namespace-aware (quick-xml's `NsReader`) and refuses any DOCTYPE, so no entity
//! is ever declared or expanded; unknown entity references are errors. Body size is limited
//! by the caller before parsing.

use crate::error::DavError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::NsReader;

pub const DAV_NS: &str = "DAV:";

/// A property name: namespace URI (may be empty) and local name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PropName {
    pub ns: String,
    pub local: String,
}

impl PropName {
    pub fn dav(local: &str) -> PropName {
        PropName { ns: DAV_NS.to_string(), local: local.to_string() }
    }
}

/// What a PROPFIND asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropfindRequest {
    AllProp { include: Vec<PropName> },
    PropName,
    Props(Vec<PropName>),
}

/// One PROPPATCH instruction, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchOp {
    Set { name: PropName, value: String },
    Remove { name: PropName },
}

/// A LOCK request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    pub exclusive: bool,
    pub owner_xml: String,
}

fn bad_xml(message: impl std::fmt::Display) -> DavError {
    DavError::BadRequest(format!("invalid XML request body: {message}"))
}

/// A parsed element tree, enough for the small request documents of WebDAV.
#[derive(Debug)]
struct Element {
    name: PropName,
    children: Vec<Element>,
    /// The element's content re-serialised with explicit namespaces (for dead properties).
    inner_xml: String,
    text: String,
}

fn resolved_name(resolve: ResolveResult<'_>, local: &[u8]) -> Result<PropName, DavError> {
    let ns = match resolve {
        ResolveResult::Bound(Namespace(ns)) => String::from_utf8(ns.to_vec()).map_err(bad_xml)?,
        ResolveResult::Unbound => String::new(),
        ResolveResult::Unknown(prefix) => {
            return Err(bad_xml(format!("undeclared namespace prefix '{}'", String::from_utf8_lossy(&prefix))))
        }
    };
    let local = String::from_utf8(local.to_vec()).map_err(bad_xml)?;
    Ok(PropName { ns, local })
}

/// Writes a start tag with its namespace made explicit (`xmlns="…"` on every element), so the
/// fragment keeps its meaning wherever it is embedded later.
fn serialize_start(
    reader: &NsReader<&[u8]>,
    start: &BytesStart<'_>,
    name: &PropName,
    out: &mut String,
) -> Result<(), DavError> {
    out.push('<');
    out.push_str(&name.local);
    out.push_str(" xmlns=\"");
    out.push_str(&escape(&name.ns));
    out.push('"');
    let mut prefixes = 0;
    for attribute in start.attributes() {
        let attribute = attribute.map_err(bad_xml)?;
        let key = attribute.key;
        if key.as_ref() == b"xmlns" || key.as_ref().starts_with(b"xmlns:") {
            continue;
        }
        let value = attribute.unescape_value().map_err(bad_xml)?;
        let (resolve, local) = reader.resolve_attribute(key);
        let local = String::from_utf8_lossy(local.as_ref()).into_owned();
        match resolve {
            ResolveResult::Bound(Namespace(ns)) => {
                prefixes += 1;
                let ns = String::from_utf8_lossy(ns).into_owned();
                out.push_str(&format!(
                    " xmlns:a{prefixes}=\"{}\" a{prefixes}:{local}=\"{}\"",
                    escape(&ns),
                    escape(&value)
                ));
            }
            _ => out.push_str(&format!(" {local}=\"{}\"", escape(&value))),
        }
    }
    Ok(())
}

/// Parses a whole document into an element tree.
fn parse_document(body: &[u8]) -> Result<Element, DavError> {
    let mut reader = NsReader::from_reader(body);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        let event = reader.read_resolved_event().map_err(bad_xml)?;
        match event {
            (_, Event::DocType(_)) => {
                return Err(DavError::BadRequest("DOCTYPE and entity declarations are not allowed".into()))
            }
            (resolve, Event::Start(start)) => {
                let name = resolved_name(resolve, start.local_name().as_ref())?;
                let mut serialized = String::new();
                serialize_start(&reader, &start, &name, &mut serialized)?;
                serialized.push('>');
                for parent in &mut stack {
                    parent.inner_xml.push_str(&serialized);
                }
                stack.push(Element { name, children: Vec::new(), inner_xml: String::new(), text: String::new() });
            }
            (resolve, Event::Empty(start)) => {
                let name = resolved_name(resolve, start.local_name().as_ref())?;
                let mut serialized = String::new();
                serialize_start(&reader, &start, &name, &mut serialized)?;
                serialized.push_str("/>");
                for parent in &mut stack {
                    parent.inner_xml.push_str(&serialized);
                }
                let element = Element { name, children: Vec::new(), inner_xml: String::new(), text: String::new() };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => {
                        root = Some(element);
                    }
                }
            }
            (_, Event::End(_)) => {
                let element = stack.pop().ok_or_else(|| bad_xml("unbalanced end tag"))?;
                let closing = format!("</{}>", element.name.local);
                for parent in &mut stack {
                    parent.inner_xml.push_str(&closing);
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            (_, Event::Text(text)) => {
                let text = text.unescape().map_err(bad_xml)?;
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&text);
                } else if !text.trim().is_empty() {
                    return Err(bad_xml("text outside the root element"));
                }
                let escaped = escape(&text);
                for parent in &mut stack {
                    parent.inner_xml.push_str(&escaped);
                }
            }
            (_, Event::CData(data)) => {
                let text = String::from_utf8(data.into_inner().to_vec()).map_err(bad_xml)?;
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&text);
                }
                let escaped = escape(&text);
                for parent in &mut stack {
                    parent.inner_xml.push_str(&escaped);
                }
            }
            (_, Event::Eof) => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(bad_xml("unexpected end of document"));
    }
    root.ok_or_else(|| bad_xml("no root element"))
}

fn expect_root(element: &Element, local: &str) -> Result<(), DavError> {
    if element.name != PropName::dav(local) {
        return Err(DavError::BadRequest(format!("expected a DAV:{local} document")));
    }
    Ok(())
}

/// Parses a PROPFIND body; an empty body means allprop.
pub fn parse_propfind(body: &[u8]) -> Result<PropfindRequest, DavError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(PropfindRequest::AllProp { include: Vec::new() });
    }
    let root = parse_document(body)?;
    expect_root(&root, "propfind")?;
    let mut request = None;
    let mut include = Vec::new();
    for child in &root.children {
        if child.name.ns != DAV_NS {
            continue;
        }
        match child.name.local.as_str() {
            "allprop" => request = Some(PropfindRequest::AllProp { include: Vec::new() }),
            "propname" => request = Some(PropfindRequest::PropName),
            "prop" => {
                request = Some(PropfindRequest::Props(child.children.iter().map(|prop| prop.name.clone()).collect()))
            }
            "include" => include.extend(child.children.iter().map(|prop| prop.name.clone())),
            _ => {}
        }
    }
    match request {
        Some(PropfindRequest::AllProp { .. }) => Ok(PropfindRequest::AllProp { include }),
        Some(other) => Ok(other),
        None => Err(DavError::BadRequest("PROPFIND needs one of allprop, propname or prop".into())),
    }
}

/// Parses a PROPPATCH body into ordered operations.
pub fn parse_proppatch(body: &[u8]) -> Result<Vec<PatchOp>, DavError> {
    let root = parse_document(body)?;
    expect_root(&root, "propertyupdate")?;
    let mut ops = Vec::new();
    for action in &root.children {
        let is_set = match (action.name.ns.as_str(), action.name.local.as_str()) {
            (DAV_NS, "set") => true,
            (DAV_NS, "remove") => false,
            _ => continue,
        };
        for prop in action.children.iter().filter(|child| child.name == PropName::dav("prop")) {
            for property in &prop.children {
                ops.push(if is_set {
                    PatchOp::Set { name: property.name.clone(), value: property.inner_xml.clone() }
                } else {
                    PatchOp::Remove { name: property.name.clone() }
                });
            }
        }
    }
    if ops.is_empty() {
        return Err(DavError::BadRequest("PROPPATCH without any property".into()));
    }
    Ok(ops)
}

/// Parses a LOCK body; `None` for an empty body (a refresh).
pub fn parse_lockinfo(body: &[u8]) -> Result<Option<LockInfo>, DavError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let root = parse_document(body)?;
    expect_root(&root, "lockinfo")?;
    let mut exclusive = None;
    let mut owner_xml = String::new();
    let mut is_write = false;
    for child in &root.children {
        match (child.name.ns.as_str(), child.name.local.as_str()) {
            (DAV_NS, "lockscope") => {
                exclusive = child.children.first().map(|scope| scope.name == PropName::dav("exclusive"));
            }
            (DAV_NS, "locktype") => is_write = child.children.iter().any(|kind| kind.name == PropName::dav("write")),
            (DAV_NS, "owner") => owner_xml = child.inner_xml.clone(),
            _ => {}
        }
    }
    if !is_write {
        return Err(DavError::BadRequest("only write locks are supported".into()));
    }
    let exclusive = exclusive.ok_or_else(|| DavError::BadRequest("LOCK needs a lockscope".into()))?;
    Ok(Some(LockInfo { exclusive, owner_xml }))
}

/// Escapes text for element content and attribute values.
pub fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// Escapes element content only (`<`, `>`, `&`); quotes stay readable, as clients expect in
/// values such as `getetag`.
pub fn escape_text(text: &str) -> String {
    quick_xml::escape::partial_escape(text).into_owned()
}

const OWNCLOUD_NS: &str = "http://owncloud.org/ns";

/// A REPORT body of the Nextcloud extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportRequest {
    /// `oc:filter-files`: the items below the URL that are favourites (when `favorite`) and
    /// carry every tag of `tags`, with the properties of `props`.
    FilterFiles { props: PropfindRequest, favorite: bool, tags: Vec<i64> },
    /// `oc:filter-comments`: a page of an item's comments, newest first.
    FilterComments { limit: usize, offset: usize },
}

/// Parses a REPORT body (`oc:filter-files` or `oc:filter-comments`).
pub fn parse_report(body: &[u8]) -> Result<ReportRequest, DavError> {
    let root = parse_document(body)?;
    let number = |element: &Element| -> Result<i64, DavError> {
        element.text.trim().parse::<i64>().map_err(|_| {
            DavError::BadRequest(format!("{} must be a number, not {:?}", element.name.local, element.text.trim()))
        })
    };
    match (root.name.ns.as_str(), root.name.local.as_str()) {
        (OWNCLOUD_NS, "filter-files") => {
            let mut props = PropfindRequest::AllProp { include: Vec::new() };
            let (mut favorite, mut tags) = (false, Vec::new());
            for child in &root.children {
                if child.name == PropName::dav("prop") {
                    props = PropfindRequest::Props(child.children.iter().map(|prop| prop.name.clone()).collect());
                } else if child.name.ns == OWNCLOUD_NS && child.name.local == "filter-rules" {
                    for rule in &child.children {
                        match (rule.name.ns.as_str(), rule.name.local.as_str()) {
                            (OWNCLOUD_NS, "favorite") => favorite = number(rule)? != 0,
                            (OWNCLOUD_NS, "systemtag") => tags.push(number(rule)?),
                            _ => {
                                return Err(DavError::BadRequest(format!(
                                    "unsupported filter rule {}:{}",
                                    rule.name.ns, rule.name.local
                                )))
                            }
                        }
                    }
                }
            }
            if !favorite && tags.is_empty() {
                return Err(DavError::BadRequest("oc:filter-files needs oc:favorite or oc:systemtag rules".into()));
            }
            Ok(ReportRequest::FilterFiles { props, favorite, tags })
        }
        (OWNCLOUD_NS, "filter-comments") => {
            let (mut limit, mut offset) = (20, 0);
            for child in root.children.iter().filter(|child| child.name.ns == OWNCLOUD_NS) {
                match child.name.local.as_str() {
                    "limit" => limit = number(child)?.clamp(1, 200) as usize,
                    "offset" => offset = number(child)?.max(0) as usize,
                    _ => {}
                }
            }
            Ok(ReportRequest::FilterComments { limit, offset })
        }
        _ => Err(DavError::BadRequest(format!(
            "unsupported REPORT {}:{} (oc:filter-files and oc:filter-comments are supported)",
            root.name.ns, root.name.local
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_doctype_and_undeclared_entities() {
        let laughs = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><D:propfind xmlns:D="DAV:"><D:prop>&lol;</D:prop></D:propfind>"#;
        assert!(parse_propfind(laughs).is_err());
        assert!(parse_propfind(br#"<D:propfind xmlns:D="DAV:"><D:prop>&ext;</D:prop></D:propfind>"#).is_err());
        assert!(parse_propfind(b"<D:propfind xmlns:D=\"DAV:\"><D:prop>").is_err());
    }

    #[test]
    fn dead_property_values_keep_their_namespaces() {
        let body = br#"<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:p><Z:inner a="1">x &amp; y</Z:inner></Z:p></D:prop></D:set></D:propertyupdate>"#;
        let ops = parse_proppatch(body).unwrap();
        assert_eq!(
            ops,
            vec![PatchOp::Set {
                name: PropName { ns: "urn:z".into(), local: "p".into() },
                value: r#"<inner xmlns="urn:z" a="1">x &amp; y</inner>"#.into()
            }]
        );
    }

    #[test]
    fn report_bodies_of_the_nextcloud_clients() {
        let body = br#"<?xml version="1.0"?><oc:filter-files xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">
            <d:prop><d:getetag/><oc:fileid/></d:prop>
            <oc:filter-rules><oc:favorite>1</oc:favorite><oc:systemtag>7</oc:systemtag></oc:filter-rules></oc:filter-files>"#;
        let ReportRequest::FilterFiles { props, favorite, tags } = parse_report(body).unwrap() else { panic!() };
        assert!(favorite);
        assert_eq!(tags, vec![7]);
        assert!(matches!(props, PropfindRequest::Props(names) if names.len() == 2));
        let body = br#"<oc:filter-comments xmlns:oc="http://owncloud.org/ns"><oc:limit>5</oc:limit><oc:offset>10</oc:offset></oc:filter-comments>"#;
        assert_eq!(parse_report(body).unwrap(), ReportRequest::FilterComments { limit: 5, offset: 10 });
        let empty_rules = br#"<oc:filter-files xmlns:oc="http://owncloud.org/ns"><oc:filter-rules/></oc:filter-files>"#;
        assert!(parse_report(empty_rules).is_err());
        let not_a_number = br#"<oc:filter-files xmlns:oc="http://owncloud.org/ns"><oc:filter-rules><oc:systemtag>x</oc:systemtag></oc:filter-rules></oc:filter-files>"#;
        assert!(parse_report(not_a_number).is_err());
        assert!(parse_report(br#"<d:sync-collection xmlns:d="DAV:"/>"#).is_err());
    }
}
