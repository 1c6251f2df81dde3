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

/// A namespace URI as declared: quick-xml keeps the raw attribute value, so its character
/// and entity references are resolved here (`urn:a&amp;b` names `urn:a&b`).
fn namespace_uri(raw: &[u8]) -> Result<String, DavError> {
    let text = std::str::from_utf8(raw).map_err(bad_xml)?;
    Ok(quick_xml::escape::unescape(text).map_err(bad_xml)?.into_owned())
}

fn resolved_name(resolve: ResolveResult<'_>, local: &[u8]) -> Result<PropName, DavError> {
    let ns = match resolve {
        ResolveResult::Bound(Namespace(ns)) => namespace_uri(ns)?,
        ResolveResult::Unbound => String::new(),
        ResolveResult::Unknown(prefix) => {
            return Err(bad_xml(format!("undeclared namespace prefix '{}'", String::from_utf8_lossy(&prefix))))
        }
    };
    Ok(PropName { ns, local: local_name(local)? })
}

/// A local name, which must be an XML `NCName`: quick-xml splits off the prefix at the first
/// colon but accepts any other byte in names, and a name like `a:b:c` or `a"b` would make the
/// XML kept for dead properties (and written back in PROPFIND answers) malformed.
fn local_name(raw: &[u8]) -> Result<String, DavError> {
    let name = std::str::from_utf8(raw).map_err(bad_xml)?;
    let start = |c: char| {
        matches!(c, 'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
            | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}'
            | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
            | '\u{10000}'..='\u{EFFFF}')
    };
    let rest = |c: char| {
        start(c) || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
    };
    let mut chars = name.chars();
    if !chars.next().is_some_and(start) || !chars.all(rest) {
        return Err(bad_xml(format!("'{name}' is not a valid XML name")));
    }
    Ok(name.to_string())
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
        let local = local_name(local.as_ref())?;
        match resolve {
            ResolveResult::Bound(Namespace(ns)) => {
                prefixes += 1;
                let ns = namespace_uri(ns)?;
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

/// Most bytes of re-serialised XML kept for all open elements of one document together. Each
/// piece is kept once per enclosing element, and namespaces are written out in full, so
/// without a bound a 1 MiB body (deep nesting, or many uses of a long namespace) would make
/// gigabytes.
const MAX_KEPT_XML: usize = 16 * 1024 * 1024;

/// Appends a serialised piece to the `inner_xml` of every open element, within `MAX_KEPT_XML`.
fn keep(stack: &mut [Element], piece: &str, kept: &mut usize) -> Result<(), DavError> {
    *kept = piece.len().saturating_mul(stack.len()).saturating_add(*kept);
    if *kept > MAX_KEPT_XML {
        return Err(bad_xml("the document is nested too deeply or too large once namespaces are written out"));
    }
    for parent in stack {
        parent.inner_xml.push_str(piece);
    }
    Ok(())
}

/// Parses a whole document into an element tree.
fn parse_document(body: &[u8]) -> Result<Element, DavError> {
    let mut reader = NsReader::from_reader(body);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut kept = 0usize;
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
                keep(&mut stack, &serialized, &mut kept)?;
                stack.push(Element { name, children: Vec::new(), inner_xml: String::new(), text: String::new() });
            }
            (resolve, Event::Empty(start)) => {
                let name = resolved_name(resolve, start.local_name().as_ref())?;
                let mut serialized = String::new();
                serialize_start(&reader, &start, &name, &mut serialized)?;
                serialized.push_str("/>");
                keep(&mut stack, &serialized, &mut kept)?;
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
                keep(&mut stack, &closing, &mut kept)?;
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
                keep(&mut stack, &escaped, &mut kept)?;
            }
            (_, Event::CData(data)) => {
                let text = String::from_utf8(data.into_inner().to_vec()).map_err(bad_xml)?;
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&text);
                }
                let escaped = escape(&text);
                keep(&mut stack, &escaped, &mut kept)?;
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

    /// Bodies whose kept XML would grow far beyond their size (deep nesting; a long namespace
    /// written out on every element) are refused instead of exhausting memory.
    #[test]
    fn amplifying_documents_are_refused() {
        let too_big = |body: &str| match parse_proppatch(body.as_bytes()) {
            Err(DavError::BadRequest(message)) => message.contains("nested too deeply"),
            _ => false,
        };
        let deep = format!(
            r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><p>{}{}</p></D:prop></D:set></D:propertyupdate>"#,
            "<a>".repeat(150_000),
            "</a>".repeat(150_000)
        );
        assert!(too_big(&deep));
        let long_ns = "urn:".to_string() + &"x".repeat(500_000);
        let wide = format!(
            r#"<D:propertyupdate xmlns:D="DAV:" xmlns:Z="{long_ns}"><D:set><D:prop><Z:p>{}</Z:p></D:prop></D:set></D:propertyupdate>"#,
            "<Z:a/>".repeat(80_000)
        );
        assert!(too_big(&wide));
    }

    /// Found by the `dav_xml` fuzz target: a local name with a colon (`D:a:b`) or another
    /// character names cannot hold was kept, and the kept value was no longer well-formed.
    #[test]
    fn names_must_be_xml_names() {
        let patch = |prop: &str| {
            parse_proppatch(
                format!(r#"<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop>{prop}</D:prop></D:set></D:propertyupdate>"#)
                    .as_bytes(),
            )
        };
        for bad in [r#"<Z:p><D:a:b/></Z:p>"#, r#"<Z:p><Z:a"b/></Z:p>"#, r#"<Z:p><Z:q Z:x:y="1"/></Z:p>"#, "<Z:1p/>"] {
            assert!(patch(bad).is_err(), "{bad}");
        }
        assert!(patch(r#"<Z:p><Z:q-1.x Z:a_b="1" plain="2">\u{e9}</Z:q-1.x></Z:p>"#).is_ok());
        let crash = include_bytes!("../../../../fuzz/regressions/dav_xml/colon-in-local-name");
        assert!(parse_lockinfo(crash).is_err());
    }

    /// Found by the round-trip check of the `dav_xml` fuzz target: namespace URIs were kept with their references
    /// unresolved, so `urn:a&amp;b` named the wrong namespace and was escaped twice in values.
    #[test]
    fn namespace_uris_have_their_references_resolved() {
        let body = br#"<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:a&amp;b"><D:set><D:prop><Z:p><Z:q Z:x="1"/></Z:p></D:prop></D:set></D:propertyupdate>"#;
        let ops = parse_proppatch(body).unwrap();
        assert_eq!(
            ops,
            vec![PatchOp::Set {
                name: PropName { ns: "urn:a&b".into(), local: "p".into() },
                value: r#"<q xmlns="urn:a&amp;b" xmlns:a1="urn:a&amp;b" a1:x="1"/>"#.into()
            }]
        );
        assert!(parse_proppatch(br#"<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:&bad;"><D:set><D:prop><Z:p/></D:prop></D:set></D:propertyupdate>"#).is_err());
    }
}
