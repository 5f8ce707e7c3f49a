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

/// Reads `.npy`, `.npz` (its first array) or `.csv`.
pub fn read(path: &Path) -> Result<Matrix, String> {
    let what = path.display();
    match ext(path).as_str() {
        "npy" => {
            let bytes = std::fs::read(path).map_err(|e| format!("{what}: {e}"))?;
            npy::read(&bytes).map_err(|e| format!("{what}: {e}"))
        }
        "npz" => npy::read_npz(path).map_err(|e| format!("{what}: {e}")),
        "csv" => csv_read(path).map_err(|e| format!("{what}: {e}")),
        other => Err(format!(
            "{what}: unknown input format `.{other}`; expected .npy, .npz or .csv"
        )),
    }
}

/// Writes `.npy` (float32) or `.csv`, atomically (a temporary file renamed into place).
pub fn write(path: &Path, m: &Matrix) -> Result<(), String> {
    let what = path.display();
    let bytes = match ext(path).as_str() {
        "npy" => npy::write(m),
        "csv" => csv_write(m).map_err(|e| format!("{what}: {e}"))?,
        other => {
            return Err(format!(
                "{what}: unknown output format `.{other}`; expected .npy or .csv"
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
