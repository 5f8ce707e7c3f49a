//! Feather v2 files, which are Arrow IPC files (uncompressed, lz4 or zstd), read into f32
//! rows; Arrow IPC streams are read too. Feather v1 (pre-2020) is not supported.

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, Float32Array, RecordBatch, RecordBatchOptions};
use arrow_ipc::reader::{FileReader, StreamReader};
use arrow_ipc::writer::FileWriter;
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use std::fs::File;
use std::io::{BufWriter, Read};
use std::path::Path;
use std::sync::Arc;

type Batches = Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>>>;

/// Rows per record batch written.
const BATCH_ROWS: usize = 65_536;

/// Opens an Arrow IPC file or stream, reading only the `projection` columns.
fn open(path: &Path, projection: Option<Vec<usize>>) -> Result<(SchemaRef, Batches), String> {
    let what = path.display();
    let err = |e: &dyn std::fmt::Display| format!("{what}: {e}");
    let mut magic = Vec::new();
    let file = File::open(path).map_err(|e| err(&e))?;
    file.take(6).read_to_end(&mut magic).map_err(|e| err(&e))?;
    let file = File::open(path).map_err(|e| err(&e))?;
    if magic.starts_with(b"FEA1") {
        return Err(format!(
            "{what}: a Feather v1 file; save it again as Feather v2 \
             (pyarrow.feather.write_feather(table, path, version=2))"
        ));
    }
    if magic == b"ARROW1" {
        let r = FileReader::try_new_buffered(file, projection).map_err(|e| err(&e))?;
        Ok((r.schema(), Box::new(r)))
    } else {
        let r = StreamReader::try_new_buffered(file, projection)
            .map_err(|e| format!("{what}: not a Feather (Arrow IPC) file: {e}"))?;
        Ok((r.schema(), Box::new(r)))
    }
}

fn readable(t: &DataType) -> bool {
    t.is_floating() || t.is_integer() || *t == DataType::Boolean
}

/// Stores `col` as column `j` of the row-major `out` (`ncols` wide); nulls become NaN.
fn scatter(col: &ArrayRef, out: &mut [f32], j: usize, ncols: usize) -> Result<(), String> {
    fn put<T>(
        out: &mut [f32],
        j: usize,
        n: usize,
        it: impl Iterator<Item = Option<T>>,
        f: fn(T) -> f32,
    ) {
        for (i, v) in it.enumerate() {
            out[i * n + j] = v.map_or(f32::NAN, f);
        }
    }
    macro_rules! prim {
        ($t:ty) => {
            put(out, j, ncols, col.as_primitive::<$t>().iter(), |x| x as f32)
        };
    }
    match col.data_type() {
        DataType::Float16 => put(
            out,
            j,
            ncols,
            col.as_primitive::<Float16Type>().iter(),
            f32::from,
        ),
        DataType::Float32 => prim!(Float32Type),
        DataType::Float64 => prim!(Float64Type),
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Boolean => put(out, j, ncols, col.as_boolean().iter(), |b| {
            f32::from(u8::from(b))
        }),
        other => return Err(format!("unsupported column type {other}")),
    }
    Ok(())
}

/// Indices of the columns to read: those named, in that order, or every readable one.
fn select(schema: &Schema, columns: Option<&[String]>) -> Result<Vec<usize>, String> {
    let fields = schema.fields();
    let listing = || {
        let all: Vec<String> = fields
            .iter()
            .map(|f| format!("{} ({})", f.name(), f.data_type()))
            .collect();
        all.join(", ")
    };
    let Some(names) = columns else {
        let chosen: Vec<usize> = (0..fields.len())
            .filter(|&i| readable(fields[i].data_type()))
            .collect();
        if chosen.is_empty() && !fields.is_empty() {
            return Err(format!("no numeric column; the file has: {}", listing()));
        }
        return Ok(chosen);
    };
    names
        .iter()
        .map(|name| {
            let Some(i) = fields.iter().position(|f| f.name() == name) else {
                return Err(format!("no column `{name}`; the file has: {}", listing()));
            };
            let t = fields[i].data_type();
            if !readable(t) {
                return Err(format!(
                    "column `{name}` is of type {t}; only numeric and boolean columns can be read"
                ));
            }
            Ok(i)
        })
        .collect()
}

/// Reads numeric columns of a Feather/Arrow IPC file as f32 rows (row-major), with column
/// names: the `columns` named, in that order, or else every numeric (integer, floating-point
/// or boolean) column in file order. Nulls become NaN; record batches are concatenated.
pub fn read_feather(
    path: &Path,
    columns: Option<&[String]>,
) -> Result<(Vec<String>, usize, Vec<f32>), String> {
    let what = path.display();
    let (schema, _) = open(path, None)?;
    let chosen = select(&schema, columns).map_err(|e| format!("{what}: {e}"))?;
    let fields = schema.fields();
    let names: Vec<String> = chosen.iter().map(|&i| fields[i].name().clone()).collect();
    let (_, batches) = open(path, Some(chosen))?;
    let ncols = names.len();
    let (mut rows, mut data) = (0, Vec::new());
    for batch in batches {
        let batch = batch.map_err(|e| format!("{what}: {e}"))?;
        let n = batch.num_rows();
        data.resize((rows + n) * ncols, f32::NAN);
        let out = &mut data[rows * ncols..];
        for (j, col) in batch.columns().iter().enumerate() {
            scatter(col, out, j, ncols)
                .map_err(|e| format!("{what}: column `{}`: {e}", names[j]))?;
        }
        rows += n;
    }
    Ok((names, rows, data))
}

/// Writes f32 columns as an uncompressed Feather v2 (Arrow IPC) file.
pub fn write_feather(
    path: &Path,
    names: &[String],
    rows: usize,
    data_row_major: &[f32],
) -> Result<(), String> {
    let what = path.display();
    let ncols = names.len();
    if data_row_major.len() != rows * ncols {
        return Err(format!(
            "{what}: {} values for {rows} rows of {ncols} columns",
            data_row_major.len()
        ));
    }
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(n, DataType::Float32, false))
            .collect::<Vec<_>>(),
    ));
    let err = |e: &dyn std::fmt::Display| format!("{what}: {e}");
    let file = File::create(path).map_err(|e| err(&e))?;
    let mut w = FileWriter::try_new(BufWriter::new(file), &schema).map_err(|e| err(&e))?;
    let mut start = 0;
    while start < rows || rows == 0 && start == 0 {
        let n = BATCH_ROWS.min(rows - start);
        let block = &data_row_major[start * ncols..(start + n) * ncols];
        let cols: Vec<ArrayRef> = (0..ncols)
            .map(|j| {
                let col: Float32Array = (0..n)
                    .map(|i| block[i * ncols + j])
                    .collect::<Vec<_>>()
                    .into();
                Arc::new(col) as ArrayRef
            })
            .collect();
        let options = RecordBatchOptions::new().with_row_count(Some(n));
        let batch = RecordBatch::try_new_with_options(schema.clone(), cols, &options)
            .map_err(|e| err(&e))?;
        w.write(&batch).map_err(|e| err(&e))?;
        start += n.max(1);
    }
    // Writes the footer and flushes.
    w.finish().map_err(|e| err(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn round_trip_with_selection() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.feather");
        let rows = BATCH_ROWS + 3; // two record batches
        let data: Vec<f32> = (0..rows * 3)
            .map(|k| if k == 7 { f32::NAN } else { k as f32 * 0.5 })
            .collect();
        write_feather(&path, &names(&["a", "b", "c"]), rows, &data).unwrap();

        let (n, r, d) = read_feather(&path, None).unwrap();
        assert_eq!((n, r), (names(&["a", "b", "c"]), rows));
        assert!(d[7].is_nan());
        assert_eq!(d[..7], data[..7]);
        assert_eq!(d[8..], data[8..]);

        let pick = names(&["c", "a"]);
        let (n, r, d) = read_feather(&path, Some(&pick)).unwrap();
        assert_eq!((n, r), (pick, rows));
        let last = rows - 1;
        assert_eq!(
            d[2 * last..2 * last + 2],
            [data[3 * last + 2], data[3 * last]]
        );

        let e = read_feather(&path, Some(&names(&["x"]))).unwrap_err();
        assert!(
            e.contains("`x`") && e.contains("a (Float32), b (Float32), c"),
            "{e}"
        );
    }

    #[test]
    fn empty_and_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.feather");
        write_feather(&path, &names(&["a"]), 0, &[]).unwrap();
        assert_eq!(
            read_feather(&path, None).unwrap(),
            (names(&["a"]), 0, vec![])
        );
        assert!(write_feather(&path, &names(&["a"]), 2, &[1.0]).is_err());
        std::fs::write(&path, b"not arrow at all").unwrap();
        assert!(read_feather(&path, None)
            .unwrap_err()
            .contains("not a Feather"));
        std::fs::write(&path, b"FEA1....").unwrap();
        assert!(read_feather(&path, None)
            .unwrap_err()
            .contains("Feather v1"));
    }
}
