//! One web node or two, on one PostgreSQL, behind a small round-robin load balancer on
//! loopback: `scripts/bench-nodes` runs it against the release binary.
//!
//! Both nodes are the same release binary serving the same database and data directory (as two
//! machines would share the database and the file store). The balancer hands each new TCP
//! connection to the next node; the 64 clients keep their connections, so each node gets half of
//! them. Measured the same way with one node and with two, alternated twice: the usager's
//! complete filing (create, save the step, deposit) and the search page, 64 clients for 10 s
//! each; the CPU time of the nodes, of PostgreSQL and of the load generator over each run.
//!
//! On this machine the nodes, PostgreSQL and the load generator share the same cores, so a
//! second node cannot add CPU. The later rounds therefore give each node a CPU quota of its own
//! (`NODE_CPU` cores, 0.4 by default, through the kernel's CPU controller, cgroup v2 or v1), as
//! if each node ran on a small machine of its own: what a second node adds is then measured where
//! the nodes are the limit, and where PostgreSQL becomes it, its CPU per operation says so.
//!
//! Usage: bench_nodes <guichet binary> <data dir> <database url>; prints a Markdown section.

mod common;

use common::{cpu_ms, file_once, signed_in, DEF};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 64;
const RUN: Duration = Duration::from_secs(10);

/// A CPU quota for one process, through the kernel's CPU controller (cgroup v2, else v1).
struct Quota {
    dir: std::path::PathBuf,
    v2: bool,
}

impl Quota {
    /// A control group of its own for `pid`, without a limit yet; none where the controller is
    /// not writable (a container without it, a user without the right).
    fn of(pid: u32, name: &str) -> Option<Quota> {
        let v2_root = std::path::Path::new("/sys/fs/cgroup");
        let v2 = std::fs::read_to_string(v2_root.join("cgroup.controllers"))
            .is_ok_and(|c| c.split_whitespace().any(|x| x == "cpu"));
        let dir = if v2 {
            let _ = std::fs::write(v2_root.join("cgroup.subtree_control"), "+cpu");
            v2_root.join(name)
        } else {
            std::path::Path::new("/sys/fs/cgroup/cpu").join(name)
        };
        std::fs::create_dir_all(&dir).ok()?;
        std::fs::write(dir.join("cgroup.procs"), pid.to_string()).ok()?;
        let quota = Quota { dir, v2 };
        quota.set(None).then_some(quota)
    }

    /// Limits the group to `cores` of CPU time (none: no limit).
    fn set(&self, cores: Option<f64>) -> bool {
        const PERIOD_US: u64 = 100_000;
        let quota = cores.map(|c| (c * PERIOD_US as f64) as u64);
        if self.v2 {
            let value = match quota {
                Some(q) => format!("{q} {PERIOD_US}"),
                None => format!("max {PERIOD_US}"),
            };
            std::fs::write(self.dir.join("cpu.max"), value).is_ok()
        } else {
            let value = quota.map_or("-1".to_string(), |q| q.to_string());
            std::fs::write(self.dir.join("cpu.cfs_period_us"), PERIOD_US.to_string()).is_ok()
                && std::fs::write(self.dir.join("cpu.cfs_quota_us"), value).is_ok()
        }
    }
}

impl Drop for Quota {
    fn drop(&mut self) {
        // The group can only go once its processes have: the nodes are killed before.
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Accepts connections on `listener` and hands each to the next of `backends`, byte for byte.
async fn balance(listener: tokio::net::TcpListener, backends: Arc<std::sync::RwLock<Vec<String>>>) {
    let next = Arc::new(AtomicUsize::new(0));
    while let Ok((mut inbound, _)) = listener.accept().await {
        let list = backends.read().map(|b| b.clone()).unwrap_or_default();
        if list.is_empty() {
            continue;
        }
        let target = list[next.fetch_add(1, Ordering::Relaxed) % list.len()].clone();
        tokio::spawn(async move {
            if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                let _ = inbound.set_nodelay(true);
                let _ = outbound.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

/// The CPU time of this process (the load generator and the balancer), in ms.
fn own_cpu_ms() -> u64 {
    cpu_ms(std::process::id()).1
}

struct Run {
    per_s: f64,
    errors: u64,
    /// CPU ms per operation: nodes, everything else but the load generator (PostgreSQL, the
    /// system), the load generator.
    nodes_us: f64,
    database_us: f64,
    load_us: f64,
    /// The nodes' CPU time over the run's time: how many cores they kept busy.
    nodes_cores: f64,
}

/// `CLIENTS` clients doing `op` through the balancer for `RUN`.
async fn measure<F, Fut>(pids: &[u32], op: F) -> Run
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let deadline = Instant::now() + RUN;
    let nodes_before: u64 = pids.iter().map(|p| cpu_ms(*p).1).sum();
    let machine_before = cpu_ms(0).0;
    let own_before = own_cpu_ms();
    let mut tasks = Vec::new();
    for w in 0..CLIENTS {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let (mut done, mut errors, mut n) = (0u64, 0u64, 0usize);
            while Instant::now() < deadline {
                n += 1;
                if op(w, n).await {
                    done += 1;
                } else {
                    errors += 1;
                }
            }
            (done, errors)
        }));
    }
    let (mut done, mut errors) = (0, 0);
    for t in tasks {
        if let Ok((d, e)) = t.await {
            done += d;
            errors += e;
        }
    }
    let nodes = pids.iter().map(|p| cpu_ms(*p).1).sum::<u64>() - nodes_before;
    let machine = cpu_ms(0).0 - machine_before;
    let own = own_cpu_ms() - own_before;
    let per = |ms: u64| ms as f64 * 1000.0 / done.max(1) as f64;
    Run {
        per_s: done as f64 / RUN.as_secs_f64(),
        errors,
        nodes_us: per(nodes),
        database_us: per(machine.saturating_sub(nodes + own)),
        load_us: per(own),
        nodes_cores: nodes as f64 / RUN.as_millis() as f64,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let common::Setup {
        bin,
        dir,
        url,
        db,
        dijon,
        ..
    } = common::setup().await?;
    anyhow::ensure!(url.starts_with("postgres"), "two nodes share a PostgreSQL");
    let def = guichet_domain::demarche::Definition::from_json(DEF)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let d = guichet_store::demarche::create(&db, dijon.id, &def, Default::default()).await?;
    guichet_store::demarche::publish(&db, &d, Default::default()).await?;
    let user = guichet_store::compte::create(
        &db,
        guichet_store::compte::Kind::Usager,
        "bench.noeuds@exemple.fr",
        "Bench",
        Some("cheval agrafe batterie correcte"),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    guichet_store::compte::mark_email_confirmed(&db, user.id).await?;
    let (session, _) = guichet_store::session::create(&db, user.id, false, None, None).await?;

    let (mut a, base_a, client) = common::serve(&bin, &dir, &url).await?;
    let (mut b, base_b, _) = common::serve(&bin, &dir, &url).await?;
    let pids = [a.id().unwrap_or_default(), b.id().unwrap_or_default()];
    let backends = Arc::new(std::sync::RwLock::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(balance(listener, backends.clone()));
    let (cookies, token) = signed_in(&client, &base_a, &session).await?;
    let (cookies, token) = (Arc::new(cookies), Arc::new(token));
    let demarche = Arc::new(format!("dijon/{}", d.slug));

    let node_cpu: f64 = std::env::var("NODE_CPU")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.4);
    let quotas: Option<[Quota; 2]> = match (
        Quota::of(pids[0], "guichet-bench-node-a"),
        Quota::of(pids[1], "guichet-bench-node-b"),
    ) {
        (Some(qa), Some(qb)) => Some([qa, qb]),
        _ => None,
    };
    // The first round as the machine is; the next two with each node on its own CPU quota.
    let quotas_missing = quotas.is_none();
    let mut rounds = vec![None];
    if quotas.is_some() {
        rounds.extend([Some(node_cpu), Some(node_cpu)]);
    }
    let mut lines = Vec::new();
    let mut ratios: Vec<(Option<f64>, f64, f64)> = Vec::new();
    for (round, cap) in rounds.iter().enumerate() {
        for q in quotas.iter().flatten() {
            anyhow::ensure!(q.set(*cap), "the CPU quota could not be set");
        }
        for nodes in [1usize, 2] {
            let list = if nodes == 1 {
                vec![base_a.trim_start_matches("http://").to_string()]
            } else {
                vec![
                    base_a.trim_start_matches("http://").to_string(),
                    base_b.trim_start_matches("http://").to_string(),
                ]
            };
            if let Ok(mut w) = backends.write() {
                *w = list;
            }
            // Fresh connections, so that the balancer spreads them over the nodes in use.
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(CLIENTS)
                .build()?;
            let in_use = &pids[..nodes];
            let flows = {
                let (client, base, cookies, token, demarche) = (
                    client.clone(),
                    base.clone(),
                    cookies.clone(),
                    token.clone(),
                    demarche.clone(),
                );
                measure(in_use, move |w, n| {
                    let (client, base, cookies, token, demarche) = (
                        client.clone(),
                        base.clone(),
                        cookies.clone(),
                        token.clone(),
                        demarche.clone(),
                    );
                    async move {
                        let address = format!("{n} rue des Deux Nœuds {w}, 21000 Dijon");
                        file_once(&client, &base, &cookies, &token, &demarche, &address)
                            .await
                            .is_some()
                    }
                })
                .await
            };
            let search = {
                let (client, base) = (client.clone(), base.clone());
                measure(in_use, move |_, _| {
                    let (client, base) = (client.clone(), base.clone());
                    async move {
                        match client
                            .get(format!(
                                "{base}/recherche?q=changement+adresse&commune=21231"
                            ))
                            .send()
                            .await
                        {
                            Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                            Err(_) => false,
                        }
                    }
                })
                .await
            };
            for (what, r) in [("complete filings", &flows), ("search pages", &search)] {
                lines.push(format!(
                    "| {} | {} | {nodes} | {what} | {:.0} /s | {} | {:.2} | {:.0} µs | {:.0} µs | {:.0} µs |",
                    round + 1,
                    cap.map_or("none".to_string(), |c| format!("{c} core each")),
                    r.per_s,
                    r.errors,
                    r.nodes_cores,
                    r.nodes_us,
                    r.database_us,
                    r.load_us
                ));
            }
            if nodes == 1 {
                ratios.push((*cap, flows.per_s, search.per_s));
            } else if let Some(last) = ratios.last_mut() {
                *last = (
                    *cap,
                    flows.per_s / last.1.max(1.0),
                    search.per_s / last.2.max(1.0),
                );
            }
        }
    }
    let _ = a.kill().await;
    let _ = b.kill().await;
    drop(quotas);
    println!("| round | CPU quota of a node | nodes | operation | per second | errors | cores used by the nodes | CPU per operation: nodes | PostgreSQL and system | load generator and balancer |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for l in lines {
        println!("{l}");
    }
    println!();
    for (i, (cap, f, s)) in ratios.iter().enumerate() {
        let how = cap.map_or("the machine as it is".to_string(), |c| {
            format!("each node on {c} core")
        });
        println!(
            "Round {} ({how}): two nodes / one node = {f:.2} for complete filings, {s:.2} for search pages.",
            i + 1
        );
    }
    if quotas_missing {
        println!();
        println!(
            "The kernel's CPU controller was not writable here: no round with a quota per node."
        );
    }
    Ok(())
}
