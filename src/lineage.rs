//! Lineage: the graph sources → datasets (and their derivations) → models → applications
//! around one node — a source, a dataset, a model, an application or a shard hash —
//! walked up (towards sources), down (towards applications) or both, as a plain graph value
//! that `output::graph` draws. Edges into a model that carry findings are marked blocked;
//! undisclosed applications are marked.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::registry::Registry;
use crate::report::{self, Filter};
use crate::types::DatasetRef;
use crate::verdict::Rules;

/// Which way to walk from the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Direction {
    /// Towards the sources content came from.
    Up,
    /// Towards the models and applications that used it.
    Down,
    /// Both.
    Both,
}

/// A node of the graph. Ids are `kind:name` (`dataset:web-mix@2022`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Node {
    /// `kind:name`.
    pub id: String,
    /// `source`, `dataset`, `model`, `application` or `shard`.
    pub kind: &'static str,
    /// What a person reads.
    pub label: String,
    /// For applications: false when not disclosed to the source owners.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosed: Option<bool>,
}

/// An edge, always pointing downstream (source → dataset → model → application).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Edge {
    /// Upstream node id.
    pub from: String,
    /// Downstream node id.
    pub to: String,
    /// `content`, `derived`, `trained`, `used` or `holds`.
    pub kind: &'static str,
    /// A dataset → model edge with findings against the training run.
    pub blocked: bool,
}

/// The graph around a root.
#[derive(Clone, Debug, Serialize)]
pub struct Lineage {
    /// The root node id.
    pub root: String,
    /// Nodes, by id.
    pub nodes: Vec<Node>,
    /// Edges, sorted.
    pub edges: Vec<Edge>,
}

/// What lineage needs: small tables loaded once, dataset contents asked for only for the
/// nodes the walk reaches.
struct World<'r> {
    reg: &'r dyn Registry,
    sources: BTreeSet<String>,
    /// Dataset → parents (every dataset is a key).
    parents: BTreeMap<DatasetRef, Vec<DatasetRef>>,
    /// Model → datasets.
    model_datasets: BTreeMap<String, Vec<DatasetRef>>,
    /// Application → (models, disclosed).
    apps: BTreeMap<String, (Vec<String>, bool)>,
    /// Dataset → sources of its content, as asked for.
    dataset_sources: RefCell<HashMap<String, Vec<String>>>,
}

impl<'r> World<'r> {
    fn load(reg: &'r dyn Registry) -> Result<World<'r>> {
        Ok(World {
            reg,
            sources: reg.sources()?.into_iter().map(|s| s.id).collect(),
            parents: reg
                .datasets()?
                .into_iter()
                .map(|d| (d.dataset, d.parents))
                .collect(),
            model_datasets: reg
                .training_runs()?
                .into_iter()
                .map(|t| (t.model, t.datasets))
                .collect(),
            apps: reg
                .applications()?
                .into_iter()
                .map(|a| (a.id, (a.models, a.disclosed)))
                .collect(),
            dataset_sources: RefCell::new(HashMap::new()),
        })
    }

    fn dataset(&self, name: &str) -> Option<&DatasetRef> {
        let r: DatasetRef = name.parse().ok()?;
        self.parents.get_key_value(&r).map(|(k, _)| k)
    }

    fn sources_of(&self, d: &DatasetRef) -> Result<Vec<String>> {
        let key = d.to_string();
        if let Some(v) = self.dataset_sources.borrow().get(&key) {
            return Ok(v.clone());
        }
        let v: Vec<String> = self
            .reg
            .dataset_usage(d)?
            .into_iter()
            .filter_map(|u| u.source)
            .collect();
        self.dataset_sources.borrow_mut().insert(key, v.clone());
        Ok(v)
    }

    fn node(&self, id: &str) -> Node {
        let (kind, name) = id.split_once(':').unwrap_or(("", id));
        let kind = match kind {
            "source" => "source",
            "dataset" => "dataset",
            "model" => "model",
            "app" => "application",
            _ => "shard",
        };
        let label = if kind == "shard" {
            name[..name.len().min(16)].to_string()
        } else {
            name.to_string()
        };
        Node {
            id: id.to_string(),
            kind,
            label,
            disclosed: (kind == "application").then(|| self.apps.get(name).is_none_or(|a| a.1)),
        }
    }

    /// Downstream neighbours of a node, with edge kind.
    fn down(&self, id: &str) -> Result<Neighbours> {
        let (kind, name) = id.split_once(':').unwrap_or(("", id));
        let mut out = Vec::new();
        match kind {
            "source" => {
                let held: BTreeSet<DatasetRef> = self
                    .reg
                    .source_content(name)?
                    .into_iter()
                    .map(|r| r.dataset)
                    .collect();
                out.extend(
                    held.into_iter()
                        .map(|d| (format!("dataset:{d}"), "content")),
                );
            }
            "dataset" => {
                for (child, ps) in &self.parents {
                    if ps.iter().any(|p| p.to_string() == name) {
                        out.push((format!("dataset:{child}"), "derived"));
                    }
                }
                for (m, ds) in &self.model_datasets {
                    if ds.iter().any(|d| d.to_string() == name) {
                        out.push((format!("model:{m}"), "trained"));
                    }
                }
            }
            "model" => {
                for (a, (models, _)) in &self.apps {
                    if models.iter().any(|m| m == name) {
                        out.push((format!("app:{a}"), "used"));
                    }
                }
            }
            _ => {}
        }
        Ok(out)
    }

    /// Upstream neighbours of a node, with edge kind (as seen from upstream).
    fn up(&self, id: &str) -> Result<Neighbours> {
        let (kind, name) = id.split_once(':').unwrap_or(("", id));
        let mut out = Vec::new();
        match kind {
            "dataset" => {
                if let Some(d) = self.dataset(name) {
                    for s in self.sources_of(d)? {
                        out.push((format!("source:{s}"), "content"));
                    }
                    for p in &self.parents[d] {
                        out.push((format!("dataset:{p}"), "derived"));
                    }
                }
            }
            "model" => {
                for d in self.model_datasets.get(name).into_iter().flatten() {
                    out.push((format!("dataset:{d}"), "trained"));
                }
            }
            "app" => {
                for m in self.apps.get(name).map(|a| a.0.as_slice()).unwrap_or(&[]) {
                    out.push((format!("model:{m}"), "used"));
                }
            }
            _ => {}
        }
        Ok(out)
    }
}

/// Neighbouring node ids with the kind of edge that leads there.
type Neighbours = Vec<(String, &'static str)>;

/// A shard hash from its hex digits, whole (64) or a prefix of at least 8 as `dataset show`
/// prints them: the one registered shard it names. `None` when `id` is not hex.
fn shard_hash(reg: &dyn Registry, id: &str) -> Result<Option<blake3::Hash>> {
    if !(8..=64).contains(&id.len()) || !id.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let id = id.to_ascii_lowercase();
    if let Ok(h) = blake3::Hash::from_hex(&id) {
        return Ok(Some(h));
    }
    // Whole bytes of the prefix narrow the range; an odd last digit is checked on the hex.
    let bytes: Vec<u8> = (0..id.len() / 2)
        .map(|k| u8::from_str_radix(&id[2 * k..2 * k + 2], 16).unwrap_or(0))
        .collect();
    let found: Vec<blake3::Hash> = reg
        .shards_with_prefix(&bytes, 32)?
        .into_iter()
        .filter(|h| h.to_hex().starts_with(id.as_str()))
        .collect();
    match found.as_slice() {
        [] => Err(Error::input(
            &id,
            "no registered shard hash starts with these digits",
        )),
        [one] => Ok(Some(*one)),
        many => Err(Error::input(
            &id,
            format!(
                "{} registered shard hashes start with these digits; give more of them",
                many.len()
            ),
        )),
    }
}

/// Resolves a user's ID to a node id: a source, `NAME@VERSION`, a model, an application,
/// or a shard hash (64 hex digits, or a prefix of at least 8).
fn resolve(reg: &dyn Registry, w: &World, id: &str) -> Result<(String, Neighbours, Neighbours)> {
    let named =
        w.sources.contains(id) || w.model_datasets.contains_key(id) || w.apps.contains_key(id);
    if !named && let Some(h) = shard_hash(reg, id)? {
        let links = reg
            .shard_links(&h)?
            .ok_or_else(|| Error::input(id, "no shard with this hash is registered"))?;
        let node = format!("shard:{}", h.to_hex());
        let down = links
            .datasets
            .iter()
            .map(|d| (format!("dataset:{d}"), "holds"))
            .collect();
        // Sources its bytes showed, and sources a version holding it declared.
        let declared: BTreeSet<&String> = links.declared.iter().map(|(_, s)| s).collect();
        let up = links
            .sources
            .iter()
            .map(|s| (format!("source:{s}"), "content"))
            .chain(
                declared
                    .into_iter()
                    .filter(|s| !links.sources.contains(s))
                    .map(|s| (format!("source:{s}"), "declared")),
            )
            .collect();
        return Ok((node, up, down));
    }
    let node = if w.sources.contains(id) {
        format!("source:{id}")
    } else if id.contains('@') && w.dataset(id).is_some() {
        format!("dataset:{id}")
    } else if w.model_datasets.contains_key(id) {
        format!("model:{id}")
    } else if w.apps.contains_key(id) {
        format!("app:{id}")
    } else {
        return Err(Error::input(
            id,
            "not a source, dataset (NAME@VERSION), model, application or shard hash in the registry",
        ));
    };
    Ok((node.clone(), w.up(&node)?, w.down(&node)?))
}

/// Builds the lineage graph around `id`.
pub fn build(reg: &dyn Registry, id: &str, direction: Direction) -> Result<Lineage> {
    let w = World::load(reg)?;
    let (root, up, down) = resolve(reg, &w, id)?;
    walk(reg, &w, root.clone(), vec![(root, up, down)], direction)
}

/// The whole graph: every source, dataset, model and application in the registry and
/// every edge between them (root `all`), as the HTML report draws it.
pub fn overview(reg: &dyn Registry) -> Result<Lineage> {
    let w = World::load(reg)?;
    let mut roots: Vec<String> = w.sources.iter().map(|s| format!("source:{s}")).collect();
    roots.extend(w.parents.keys().map(|d| format!("dataset:{d}")));
    roots.extend(w.model_datasets.keys().map(|m| format!("model:{m}")));
    roots.extend(w.apps.keys().map(|a| format!("app:{a}")));
    let mut starts = Vec::new();
    for r in roots {
        let down = w.down(&r)?;
        starts.push((r, Vec::new(), down));
    }
    walk(reg, &w, "all".into(), starts, Direction::Down)
}

/// Walks from each start node (with its upstream and downstream neighbours) and marks the
/// blocked training edges.
fn walk(
    reg: &dyn Registry,
    w: &World,
    root: String,
    starts: Vec<(String, Neighbours, Neighbours)>,
    direction: Direction,
) -> Result<Lineage> {
    let mut nodes: BTreeSet<String> = starts.iter().map(|s| s.0.clone()).collect();
    let mut edges: BTreeSet<Edge> = BTreeSet::new();
    let edge = |from: &str, to: &str, kind: &'static str| Edge {
        from: from.to_string(),
        to: to.to_string(),
        kind,
        blocked: false,
    };
    for (start, first_up, first_down) in starts {
        if direction != Direction::Down {
            // Walk towards sources; the graph has no cycles (derivations only point at
            // datasets registered earlier), and `nodes` stops any revisit.
            let mut stack: Vec<(String, String, &'static str)> = first_up
                .into_iter()
                .map(|(n, k)| (n, start.clone(), k))
                .collect();
            while let Some((n, below, kind)) = stack.pop() {
                edges.insert(edge(&n, &below, kind));
                if nodes.insert(n.clone()) {
                    stack.extend(w.up(&n)?.into_iter().map(|(m, k)| (m, n.clone(), k)));
                }
            }
        }
        if direction != Direction::Up {
            let mut stack: Vec<(String, String, &'static str)> = first_down
                .into_iter()
                .map(|(n, k)| (start.clone(), n, k))
                .collect();
            while let Some((above, n, kind)) = stack.pop() {
                edges.insert(edge(&above, &n, kind));
                if nodes.insert(n.clone()) {
                    stack.extend(w.down(&n)?.into_iter().map(|(m, k)| (n.clone(), m, k)));
                }
            }
        }
    }
    // Blocked training edges: findings of the runs on the datasets in the graph only.
    let trained: BTreeSet<DatasetRef> = edges
        .iter()
        .filter(|e| e.kind == "trained")
        .filter_map(|e| w.dataset(e.from.trim_start_matches("dataset:")).cloned())
        .collect();
    if !trained.is_empty() {
        let filter = Filter {
            datasets: Some(trained),
            ..Filter::default()
        };
        let blocked: BTreeSet<(String, String)> = report::build(reg, &filter, Rules::default())?
            .findings
            .into_iter()
            .filter_map(|f| {
                Some((
                    format!("dataset:{}", f.dataset?),
                    format!("model:{}", f.model?),
                ))
            })
            .collect();
        edges = edges
            .into_iter()
            .map(|mut e| {
                e.blocked =
                    e.kind == "trained" && blocked.contains(&(e.from.clone(), e.to.clone()));
                e
            })
            .collect();
    }
    Ok(Lineage {
        root,
        nodes: nodes.iter().map(|n| w.node(n)).collect(),
        edges: edges.into_iter().collect(),
    })
}
