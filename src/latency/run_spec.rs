//! One measured run of `klagg latency-report`: an engine's name and the two stamp files (its
//! simulator's and its own) that are joined for it.

use std::path::{Path, PathBuf};

use super::{Stage, StampFile};

/// The form of a `--run` argument, for help and errors.
pub const RUN_FORM: &str = "NAME=SIM_FILE,ENGINE_FILE";

/// An engine measured against its own simulator run: `NAME=SIM_FILE,ENGINE_FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpec {
    /// The engine's name in reports (`RESULT engine=NAME`): letters, digits, `_`, `-`, `.`.
    pub name: String,
    /// The simulator's stamp file (`klagg sim --stamps`).
    pub sim: PathBuf,
    /// The engine's stamp file (`klagg run --stamps`, the baseline's `--stamps`).
    pub engine: PathBuf,
}

impl RunSpec {
    /// Parses `NAME=SIM_FILE,ENGINE_FILE`; the error quotes the argument and the form.
    pub fn parse(arg: &str) -> Result<RunSpec, String> {
        let bad = |why: &str| {
            format!("{arg:?}: {why}; expected {RUN_FORM}, e.g. klagg=/tmp/sim.csv,/tmp/klagg.csv")
        };
        let (name, files) = arg.split_once('=').ok_or_else(|| bad("no '='"))?;
        if name.is_empty() {
            return Err(bad("the engine name is empty"));
        }
        // The name goes unquoted into CSV rows and `RESULT engine=NAME` lines.
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(bad(
                "the engine name may hold only letters, digits, '_', '-' and '.'",
            ));
        }
        let (sim, engine) = files
            .split_once(',')
            .ok_or_else(|| bad("two files are needed, separated by ','"))?;
        if sim.is_empty() || engine.is_empty() || engine.contains(',') {
            return Err(bad("two non-empty files are needed, separated by one ','"));
        }
        Ok(RunSpec {
            name: name.to_owned(),
            sim: PathBuf::from(sim),
            engine: PathBuf::from(engine),
        })
    }

    /// Reads both files and checks each holds the stamps of its side: only `sim_write` in the
    /// simulator's, none in the engine's (a swapped pair would join into nonsense).
    pub fn load(&self) -> Result<(StampFile, StampFile), String> {
        let sim = StampFile::read(&self.sim)?;
        let engine = StampFile::read(&self.engine)?;
        if let Some(s) = sim.stamps.iter().find(|s| s.stage != Stage::SimWrite) {
            return Err(wrong_side(
                &self.sim,
                "simulator",
                "only sim_write",
                s.stage,
            ));
        }
        if engine.stamps.iter().any(|s| s.stage == Stage::SimWrite) {
            return Err(wrong_side(
                &self.engine,
                "engine",
                "no sim_write",
                Stage::SimWrite,
            ));
        }
        Ok((sim, engine))
    }
}

fn wrong_side(path: &Path, side: &str, rule: &str, found: Stage) -> String {
    format!(
        "{}: the {side} stamp file of a run holds {rule} stamps, found {} \
         (is the pair given as {RUN_FORM}?)",
        path.display(),
        found.name()
    )
}

/// Checks that no two runs share a name, so CSV rows and RESULT lines stay unambiguous.
pub fn check_unique_names(runs: &[RunSpec]) -> Result<(), String> {
    for (i, run) in runs.iter().enumerate() {
        if runs[..i].iter().any(|r| r.name == run.name) {
            return Err(format!(
                "--run: the engine name {:?} is given twice; each run needs its own name",
                run.name
            ));
        }
    }
    if runs.is_empty() {
        return Err(format!("no run given: pass --run {RUN_FORM} at least once"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::latency::Stamp;

    #[test]
    fn parses_name_and_two_files() {
        let run = RunSpec::parse("klagg=/tmp/sim 1.csv,/tmp/k=1.csv").unwrap();
        assert_eq!(run.name, "klagg");
        assert_eq!(run.sim, Path::new("/tmp/sim 1.csv"));
        assert_eq!(run.engine, Path::new("/tmp/k=1.csv"));
    }

    #[test]
    fn bad_syntax_names_the_argument_and_the_form() {
        for (arg, why) in [
            ("klagg", "no '='"),
            ("=a,b", "name is empty"),
            ("my engine=a,b", "only letters"),
            ("klagg=a.csv", "two files"),
            ("klagg=a.csv,", "non-empty"),
            ("klagg=,b.csv", "non-empty"),
            ("klagg=a,b,c", "one ','"),
        ] {
            let e = RunSpec::parse(arg).unwrap_err();
            assert!(e.contains(&format!("{arg:?}")), "{e}");
            assert!(e.contains(why), "{e}");
            assert!(e.contains(RUN_FORM), "{e}");
        }
    }

    #[test]
    fn names_must_be_unique_and_present() {
        let run = RunSpec::parse("a=x,y").unwrap();
        assert!(check_unique_names(std::slice::from_ref(&run)).is_ok());
        let e = check_unique_names(&[run.clone(), run]).unwrap_err();
        assert!(e.contains("\"a\" is given twice"), "{e}");
        assert!(check_unique_names(&[]).unwrap_err().contains("--run"));
    }

    #[test]
    fn a_swapped_pair_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, stage: Stage| {
            let path = dir.path().join(name);
            let stamp = Stamp {
                stage,
                symbol: 0,
                trade_id: 1,
                at_ns: 10,
                event_ms: 0,
            };
            StampFile {
                names: vec!["BTCUSDT".into()],
                stamps: vec![stamp],
                ..StampFile::default()
            }
            .write(&path)
            .unwrap();
            path.display().to_string()
        };
        let (sim, engine) = (
            file("sim.csv", Stage::SimWrite),
            file("e.csv", Stage::Updated),
        );
        let good = RunSpec::parse(&format!("k={sim},{engine}")).unwrap();
        assert!(good.load().is_ok());
        let swapped = RunSpec::parse(&format!("k={engine},{sim}")).unwrap();
        let e = swapped.load().unwrap_err();
        assert!(e.contains(&engine) && e.contains("found updated"), "{e}");
        let missing = RunSpec::parse(&format!("k={sim},/nonexistent/e.csv")).unwrap();
        assert!(missing.load().unwrap_err().contains("/nonexistent/e.csv"));
    }
}
