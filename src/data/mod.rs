//! Row matrices in the formats users have: `.npy`, `.npz`, CSV with a header. Values are f32 (the
//! C ABI's type); f64 files are rounded once on reading.

use std::path::Path;

/// A row-major matrix with optional column names.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
    pub names: Vec<String>,
}

impl Matrix {
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Matrix {
        Matrix {
            rows,
            cols,
            data,
            names: Vec::new(),
        }
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

fn ext(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Reads `.npy`, `.npz` (its first array), `.csv` (with a header) or Feather / Arrow IPC
/// (`.feather`, `.arrow`, `.ipc`). `columns` picks columns by name (CSV and Feather), in the
/// order given; otherwise every column is taken in the file's order.
pub fn read_columns(path: &Path, columns: Option<&[String]>) -> Result<Matrix, String> {
    let what = path.display();
    match ext(path).as_str() {
        "feather" | "arrow" | "ipc" => {
            let (names, rows, data) =
                feather::read_feather(path, columns).map_err(|e| format!("{what}: {e}"))?;
            return Ok(Matrix {
                rows,
                cols: names.len(),
                data,
                names,
            });
        }
        "csv" if columns.is_some() => {
            let m = csv_read(path).map_err(|e| format!("{what}: {e}"))?;
            return select(m, columns.unwrap_or_default()).map_err(|e| format!("{what}: {e}"));
        }
        _ if columns.is_some() => {
            return Err(format!(
                "{what}: --columns needs column names, which only CSV and Feather files have"
            ));
        }
        _ => {}
    }
    read(path)
}

/// The named columns of `m`, in the order given.
fn select(m: Matrix, columns: &[String]) -> Result<Matrix, String> {
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| {
            m.names
                .iter()
                .position(|n| n == c)
                .ok_or_else(|| format!("no column `{c}`; the file has: {}", m.names.join(", ")))
        })
        .collect::<Result<_, _>>()?;
    let mut data = Vec::with_capacity(m.rows * idx.len());
    for i in 0..m.rows {
        data.extend(idx.iter().map(|&j| m.data[i * m.cols + j]));
    }
    Ok(Matrix {
        rows: m.rows,
        cols: idx.len(),
        data,
        names: columns.to_vec(),
    })
}

/// Reads `.npy`, `.npz` (its first array), `.csv` or Feather, every column in file order.
pub fn read(path: &Path) -> Result<Matrix, String> {
    let what = path.display();
    match ext(path).as_str() {
        "feather" | "arrow" | "ipc" => read_columns(path, None),
        "npy" => {
            let bytes = std::fs::read(path).map_err(|e| format!("{what}: {e}"))?;
            npy::read(&bytes).map_err(|e| format!("{what}: {e}"))
        }
        "npz" => npy::read_npz(path).map_err(|e| format!("{what}: {e}")),
        "csv" => csv_read(path).map_err(|e| format!("{what}: {e}")),
        other => Err(format!(
            "{what}: unknown input format `.{other}`; expected .npy, .npz, .csv or .feather"
        )),
    }
}

/// Writes `.npy` (float32), `.csv` or `.feather`, atomically (a temporary file renamed into place).
pub fn write(path: &Path, m: &Matrix) -> Result<(), String> {
    let what = path.display();
    let bytes = match ext(path).as_str() {
        "feather" | "arrow" | "ipc" => {
            let names: Vec<String> = if m.names.len() == m.cols {
                m.names.clone()
            } else {
                (0..m.cols).map(|j| format!("y{j}")).collect()
            };
            let tmp = crate::fsutil::TempOut::beside(path).map_err(|e| format!("{what}: {e}"))?;
            feather::write_feather(tmp.path(), &names, m.rows, &m.data)
                .map_err(|e| format!("{what}: {e}"))?;
            return tmp.commit(path).map_err(|e| format!("{what}: {e}"));
        }
        "npy" => npy::write(m),
        "csv" => csv_write(m).map_err(|e| format!("{what}: {e}"))?,
        other => {
            return Err(format!(
                "{what}: unknown output format `.{other}`; expected .npy, .csv or .feather"
            ))
        }
    };
    crate::fsutil::write_atomic(path, &bytes).map_err(|e| format!("{what}: {e}"))
}

fn csv_read(path: &Path) -> Result<Matrix, String> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|e| e.to_string())?;
    let names: Vec<String> = r
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(str::to_owned)
        .collect();
    let mut data = Vec::new();
    let mut rows = 0;
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| e.to_string())?;
        if rec.len() != names.len() {
            return Err(format!(
                "row {} has {} fields, the header {}",
                i + 2,
                rec.len(),
                names.len()
            ));
        }
        for (j, f) in rec.iter().enumerate() {
            let v: f32 = f.trim().parse().map_err(|_| {
                format!(
                    "row {}, column `{}`: `{f}` is not a number",
                    i + 2,
                    names[j]
                )
            })?;
            data.push(v);
        }
        rows += 1;
    }
    Ok(Matrix {
        rows,
        cols: names.len(),
        data,
        names,
    })
}

fn csv_write(m: &Matrix) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let names: Vec<String> = if m.names.len() == m.cols {
        m.names.clone()
    } else {
        (0..m.cols).map(|j| format!("y{j}")).collect()
    };
    w.write_record(&names).map_err(|e| e.to_string())?;
    for i in 0..m.rows {
        // `{}` prints the shortest text that reads back to the same f32.
        w.write_record(m.row(i).iter().map(|v| format!("{v}")))
            .map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

pub mod feather;

pub mod npy {
    //! `.npy` through npyz; `.npz` members through our zip reader.
    use super::Matrix;
    use std::io::Read;

    pub fn read(bytes: &[u8]) -> Result<Matrix, String> {
        let npy = npyz::NpyFile::new(bytes).map_err(|e| format!("not a .npy file: {e}"))?;
        let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
        if npy.order() != npyz::Order::C {
            return Err(
                "Fortran-ordered arrays are not supported; save with np.ascontiguousarray".into(),
            );
        }
        let (rows, cols) = match shape.as_slice() {
            [n] => (*n, 1),
            [r, c] => (*r, *c),
            s => return Err(format!("expected a 1-D or 2-D array, got shape {s:?}")),
        };
        let descr = npy.dtype().descr().replace(['\'', '"'], "");
        let data: Vec<f32> = match descr.as_str() {
            "<f4" => npy.into_vec::<f32>().map_err(|e| e.to_string())?,
            "<f8" => npy
                .into_vec::<f64>()
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|v| v as f32)
                .collect(),
            "<i4" => npy
                .into_vec::<i32>()
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|v| v as f32)
                .collect(),
            "<i8" => npy
                .into_vec::<i64>()
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|v| v as f32)
                .collect(),
            other => {
                return Err(format!(
                    "unsupported dtype `{other}`; expected float32 or float64"
                ))
            }
        };
        Ok(Matrix::new(rows, cols, data))
    }

    /// Reads f64 values exactly (for references and tests).
    pub fn read_f64(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f64>), String> {
        let npy = npyz::NpyFile::new(bytes).map_err(|e| format!("not a .npy file: {e}"))?;
        let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
        let descr = npy.dtype().descr().replace(['\'', '"'], "");
        let data = match descr.as_str() {
            "<f4" => npy
                .into_vec::<f32>()
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(f64::from)
                .collect(),
            "<f8" => npy.into_vec::<f64>().map_err(|e| e.to_string())?,
            other => return Err(format!("unsupported dtype `{other}`")),
        };
        Ok((shape, data))
    }

    pub fn write(m: &Matrix) -> Vec<u8> {
        let mut out = Vec::new();
        {
            use npyz::WriterBuilder;
            let mut w = npyz::WriteOptions::<f32>::new()
                .default_dtype()
                .shape(&[m.rows as u64, m.cols as u64])
                .writer(&mut out)
                .begin_nd()
                .expect("writing to memory cannot fail");
            w.extend(m.data.iter().copied())
                .expect("writing to memory cannot fail");
            w.finish().expect("writing to memory cannot fail");
        }
        out
    }

    /// The first array of an `.npz` archive.
    pub fn read_npz(path: &std::path::Path) -> Result<Matrix, String> {
        let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
        let mut z = zip::ZipArchive::new(f).map_err(|e| format!("not an .npz (zip) file: {e}"))?;
        if z.is_empty() {
            return Err("empty .npz archive".into());
        }
        let mut entry = z.by_index(0).map_err(|e| e.to_string())?;
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        read(&bytes).map_err(|e| format!("member `{}`: {e}", entry.name()))
    }
}
