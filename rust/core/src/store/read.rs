//! Reading a committed recording back: its chunk files for memory maps, its
//! arrays decoded by zarrs (any codec).

use std::path::PathBuf;

use zarrs::array::{Array, ArrayBytes, DataType, data_type};
use zarrs::filesystem::FilesystemStore;

use super::recording::{read_recording_meta, validate_rid};
use super::{Signal, Store, StoreError};

impl Store {
    fn open_array(&self, rid: &str, name: &str) -> Result<Array<FilesystemStore>, StoreError> {
        validate_rid(rid)?;
        if read_recording_meta(&self.recording_dir(rid))?.is_none() {
            return Err(StoreError::NotCommitted {
                path: self.path().to_owned(),
                rid: rid.to_owned(),
            });
        }
        Array::open(self.zarr_store(), &format!("/recordings/{rid}/{name}"))
            .map_err(|e| StoreError::zarr(self.recording_dir(rid).join(name), e))
    }

    /// The file of the single chunk of `recordings/<rid>/<array>` (`signal` or
    /// `label`), with zarrs' chunk key encoding (`c/0/0` by default). The file
    /// does not exist for an empty recording.
    ///
    /// # Errors
    /// [`StoreError::NotCommitted`], zarrs errors opening the array.
    pub fn chunk_path(&self, rid: &str, array: &str) -> Result<PathBuf, StoreError> {
        let array = self.open_array(rid, array)?;
        let origin = vec![0; array.dimensionality()];
        Ok(self.zarr_store().key_to_fspath(&array.chunk_key(&origin)))
    }

    /// The samples of a committed recording, decoded by zarrs (any codec).
    ///
    /// # Errors
    /// [`StoreError::NotCommitted`], zarrs errors, an unexpected data type.
    pub fn read_signal(&self, rid: &str) -> Result<Signal, StoreError> {
        let array = self.open_array(rid, "signal")?;
        let err =
            |e: &dyn std::fmt::Display| StoreError::zarr(self.recording_dir(rid).join("signal"), e);
        let subset = array.subset_all();
        let dtype: &DataType = array.data_type();
        if *dtype == data_type::float32() {
            array
                .retrieve_array_subset::<Vec<f32>>(&subset)
                .map(Signal::F32)
                .map_err(|e| err(&e))
        } else if *dtype == data_type::float16() {
            let bytes: ArrayBytes = array.retrieve_array_subset(&subset).map_err(|e| err(&e))?;
            let raw = bytes.into_fixed().map_err(|e| err(&e))?;
            Ok(Signal::F16(
                raw.chunks_exact(2)
                    .map(|b| u16::from_ne_bytes([b[0], b[1]]))
                    .collect(),
            ))
        } else {
            Err(err(&format!(
                "signal data type {:?} is neither float32 nor float16",
                dtype
            )))
        }
    }

    /// The per-sample labels of a committed recording.
    ///
    /// # Errors
    /// [`StoreError::NotCommitted`], zarrs errors.
    pub fn read_labels(&self, rid: &str) -> Result<Vec<u8>, StoreError> {
        let array = self.open_array(rid, "label")?;
        array
            .retrieve_array_subset::<Vec<u8>>(&array.subset_all())
            .map_err(|e| StoreError::zarr(self.recording_dir(rid).join("label"), e))
    }
}
