//! A minimal zip archive writer and reader (PKWARE APPNOTE 6.3.10).
//!
//! The writer stores entries uncompressed (method 0, "stored") with their
//! CRC-32, a local header before each entry, a central directory and an
//! end-of-central-directory record. Entry times are fixed at 1980-01-01
//! 00:00, the earliest DOS date, so the same content always gives the same
//! bytes.
//!
//! The reader lists the entries of any zip archive, including compressed and
//! Zip64 ones, from its central directory. It returns the data of stored
//! entries only, after checking the CRC-32 and that the local header agrees
//! with the central directory.

use crate::error::{Error, Result};

const LOCAL_HEADER_SIGNATURE: u32 = 0x0403_4b50;
const CENTRAL_HEADER_SIGNATURE: u32 = 0x0201_4b50;
const END_SIGNATURE: u32 = 0x0605_4b50;
const ZIP64_END_SIGNATURE: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;

const CENTRAL_HEADER_LEN: usize = 46;
const END_RECORD_LEN: usize = 22;
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_END_LEN: usize = 56;
/// The end record ends with a comment of at most this many bytes.
const MAX_COMMENT_LEN: usize = 0xFFFF;

/// Version 2.0: the lowest that readers accept for stored entries in folders.
const VERSION_NEEDED: u16 = 20;
/// Upper byte 3 (Unix), so that unzip applies the permissions below.
const VERSION_MADE_BY: u16 = (3 << 8) | VERSION_NEEDED;
/// Regular file, mode 0644, in the upper half of the external attributes.
const UNIX_FILE_ATTRIBUTES: u32 = 0o100_644 << 16;
/// General-purpose flag bit 11: the entry name is UTF-8.
const FLAG_UTF8: u16 = 1 << 11;
const FLAG_ENCRYPTED: u16 = 1;
/// Flag bit 3: sizes and CRC follow the data instead of the local header.
const FLAG_DATA_DESCRIPTOR: u16 = 1 << 3;
/// 1980-01-01 in DOS date format (day 1, month 1, year 1980 + 0).
const DOS_DATE_1980: u16 = (1 << 5) | 1;

pub const METHOD_STORED: u16 = 0;
pub const METHOD_DEFLATE: u16 = 8;

/// CRC-32 (the polynomial of zip, gzip and PNG), eight bytes per step with
/// eight lookup tables ("slicing by 8").
pub fn crc32(data: &[u8]) -> u32 {
    let t = &CRC_TABLES;
    let mut crc = !0u32;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let lo = u32::from_le_bytes([c[0], c[1], c[2], c[3]]) ^ crc;
        let hi = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
        crc = t[7][(lo & 0xFF) as usize]
            ^ t[6][((lo >> 8) & 0xFF) as usize]
            ^ t[5][((lo >> 16) & 0xFF) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xFF) as usize]
            ^ t[2][((hi >> 8) & 0xFF) as usize]
            ^ t[1][((hi >> 16) & 0xFF) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for &b in chunks.remainder() {
        crc = t[0][((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// `CRC_TABLES[0]` is the byte-wise table of the reflected polynomial
/// 0xEDB88320; table `k` advances a byte's contribution by `k` more bytes.
static CRC_TABLES: [[u32; 256]; 8] = crc_tables();

const fn crc_tables() -> [[u32; 256]; 8] {
    let mut tables = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            bit += 1;
        }
        tables[0][i] = c;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = tables[k - 1][i];
            tables[k][i] = (prev >> 8) ^ tables[0][(prev & 0xFF) as usize];
            i += 1;
        }
        k += 1;
    }
    tables
}

/// Builds a zip archive in memory, one stored entry at a time.
#[derive(Debug, Default)]
pub struct ZipWriter {
    out: Vec<u8>,
    central: Vec<u8>,
    count: usize,
}

impl ZipWriter {
    /// Creates a writer whose output buffer starts with `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> ZipWriter {
        ZipWriter {
            out: Vec::with_capacity(capacity),
            ..ZipWriter::default()
        }
    }

    /// Appends an entry stored without compression.
    pub fn add(&mut self, name: &str, data: &[u8]) -> Result<()> {
        self.add_with(name, data.len(), |out| out.extend_from_slice(data))
    }

    /// Appends an entry of `len` bytes that `write` appends to the buffer,
    /// so large entries are built in place instead of copied.
    pub fn add_with(
        &mut self,
        name: &str,
        len: usize,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Result<()> {
        let offset = self.out.len();
        let too_large = |field: &str| {
            Error::File(format!(
                "cannot write the zip entry \"{name}\": its {field} exceeds 4 GiB, the limit of zip archives without Zip64, which kerust does not write"
            ))
        };
        let size = u32::try_from(len).map_err(|_| too_large("size"))?;
        let offset32 = u32::try_from(offset).map_err(|_| too_large("offset"))?;
        let name_len = u16::try_from(name.len()).map_err(|_| {
            Error::File(format!(
                "cannot write a zip entry with a name of {} bytes; the limit is 65535",
                name.len()
            ))
        })?;

        // The CRC is known only after the data is written, so its field in
        // the local header is filled in afterwards.
        let out = &mut self.out;
        put_u32(out, LOCAL_HEADER_SIGNATURE);
        put_u16(out, VERSION_NEEDED);
        put_u16(out, FLAG_UTF8);
        put_u16(out, METHOD_STORED);
        put_u16(out, 0); // time 00:00:00
        put_u16(out, DOS_DATE_1980);
        let crc_at = out.len();
        put_u32(out, 0);
        put_u32(out, size); // compressed size
        put_u32(out, size); // uncompressed size
        put_u16(out, name_len);
        put_u16(out, 0); // extra field length
        out.extend_from_slice(name.as_bytes());
        let data_start = out.len();
        write(out);
        if out.len() - data_start != len {
            return Err(Error::File(format!(
                "internal error: zip entry \"{name}\" was declared with {len} bytes but {} were written",
                out.len() - data_start
            )));
        }
        let crc = crc32(&out[data_start..]);
        out[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());

        let c = &mut self.central;
        put_u32(c, CENTRAL_HEADER_SIGNATURE);
        put_u16(c, VERSION_MADE_BY);
        put_u16(c, VERSION_NEEDED);
        put_u16(c, FLAG_UTF8);
        put_u16(c, METHOD_STORED);
        put_u16(c, 0);
        put_u16(c, DOS_DATE_1980);
        put_u32(c, crc);
        put_u32(c, size);
        put_u32(c, size);
        put_u16(c, name_len);
        put_u16(c, 0); // extra field length
        put_u16(c, 0); // comment length
        put_u16(c, 0); // disk number
        put_u16(c, 0); // internal attributes
        put_u32(c, UNIX_FILE_ATTRIBUTES);
        put_u32(c, offset32);
        c.extend_from_slice(name.as_bytes());
        self.count += 1;
        Ok(())
    }

    /// Appends the central directory and the end record; returns the archive.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        let too_large = || {
            Error::File(
                "cannot write the zip archive: it exceeds 4 GiB or 65535 entries, the limits of zip archives without Zip64, which kerust does not write".into(),
            )
        };
        let count = u16::try_from(self.count).map_err(|_| too_large())?;

        let central_offset = u32::try_from(self.out.len()).map_err(|_| too_large())?;
        let central_size = u32::try_from(self.central.len()).map_err(|_| too_large())?;
        u32::try_from(self.out.len() + self.central.len()).map_err(|_| too_large())?;

        self.out.extend_from_slice(&self.central);
        let out = &mut self.out;
        put_u32(out, END_SIGNATURE);
        put_u16(out, 0); // this disk
        put_u16(out, 0); // disk of the central directory
        put_u16(out, count); // entries on this disk
        put_u16(out, count); // entries in total
        put_u32(out, central_size);
        put_u32(out, central_offset);
        put_u16(out, 0); // comment length
        Ok(self.out)
    }
}

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// An entry of a zip archive's central directory.
#[derive(Debug, Clone, PartialEq)]
pub struct ZipEntry {
    pub name: String,
    /// Compression method: 0 stored, 8 deflate, ...
    pub method: u16,
    pub flags: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
    local_header_offset: u64,
}

/// A parsed zip archive over borrowed bytes.
#[derive(Debug)]
pub struct ZipArchive<'a> {
    data: &'a [u8],
    entries: Vec<ZipEntry>,
}

/// Reads little-endian fields at increasing offsets of a byte slice; every
/// read is bounds-checked.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn at(data: &'a [u8], pos: usize) -> Cursor<'a> {
        Cursor { data, pos }
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end {
            Some(end) => {
                let s = &self.data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(truncated()),
        }
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.bytes(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
}

fn truncated() -> Error {
    Error::File(
        "the zip archive is truncated or corrupted: a record runs past the end of the data".into(),
    )
}

fn corrupted(problem: &str) -> Error {
    Error::File(format!("the zip archive is corrupted: {problem}"))
}

/// True when `data` starts like a zip archive (a local header, or the end
/// record of an empty archive).
pub fn looks_like_zip(data: &[u8]) -> bool {
    data.len() >= 4 && {
        let sig = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
        sig == LOCAL_HEADER_SIGNATURE || sig == END_SIGNATURE
    }
}

impl<'a> ZipArchive<'a> {
    /// Parses the end record and the central directory of `data`.
    pub fn parse(data: &'a [u8]) -> Result<ZipArchive<'a>> {
        let end = find_end_record(data)?;
        let mut c = Cursor::at(data, end + 4);
        let disk = c.u16()?;
        let central_disk = c.u16()?;
        let mut count = c.u16()? as u64;
        let total = c.u16()? as u64;
        let mut central_size = c.u32()? as u64;
        let mut central_offset = c.u32()? as u64;
        if disk != 0 || central_disk != 0 || count != total {
            return Err(corrupted(
                "it spans several disks or its entry counts disagree; kerust reads single-file archives only",
            ));
        }

        let zip64 = count == 0xFFFF || central_size == 0xFFFF_FFFF || central_offset == 0xFFFF_FFFF;
        if zip64 && end >= ZIP64_LOCATOR_LEN {
            let mut loc = Cursor::at(data, end - ZIP64_LOCATOR_LEN);
            if loc.u32()? == ZIP64_LOCATOR_SIGNATURE {
                loc.u32()?; // disk of the Zip64 end record
                let record = usize::try_from(loc.u64()?).map_err(|_| truncated())?;
                let mut z = Cursor::at(data, record);
                if z.u32()? != ZIP64_END_SIGNATURE {
                    return Err(corrupted("the Zip64 end record is missing"));
                }
                z.bytes(ZIP64_END_LEN - 4 - 32)?; // size, versions, disk numbers
                count = z.u64()?;
                z.u64()?; // entries in total
                central_size = z.u64()?;
                central_offset = z.u64()?;
            }
        }

        let start = usize::try_from(central_offset).map_err(|_| truncated())?;
        let size = usize::try_from(central_size).map_err(|_| truncated())?;
        if start.checked_add(size).is_none_or(|e| e > data.len()) {
            return Err(truncated());
        }
        // Each central header takes at least 46 bytes, which bounds the
        // allocation below whatever count a corrupted record claims.
        if count > (size / CENTRAL_HEADER_LEN) as u64 {
            return Err(corrupted(
                "the entry count does not fit the central directory",
            ));
        }

        let directory = &data[start..start + size];
        let mut entries = Vec::with_capacity(count as usize);
        let mut c = Cursor::at(directory, 0);
        for _ in 0..count {
            entries.push(read_central_header(&mut c)?);
        }
        Ok(ZipArchive { data, entries })
    }

    pub fn entries(&self) -> &[ZipEntry] {
        &self.entries
    }

    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.name.as_str()).collect()
    }

    pub fn find(&self, name: &str) -> Option<&ZipEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Returns the data of the stored entry `name`, after checking its
    /// CRC-32; `Ok(None)` when the archive has no such entry.
    pub fn read(&self, name: &str) -> Result<Option<&'a [u8]>> {
        let Some(entry) = self.find(name) else {
            return Ok(None);
        };
        if entry.flags & FLAG_ENCRYPTED != 0 {
            return Err(Error::File(format!(
                "the zip entry \"{name}\" is encrypted, which kerust cannot read"
            )));
        }
        if entry.method != METHOD_STORED {
            let method = if entry.method == METHOD_DEFLATE {
                "deflate (method 8)".to_string()
            } else {
                format!("method {}", entry.method)
            };
            return Err(Error::File(format!(
                "the zip entry \"{name}\" is compressed with {method}; kerust reads only uncompressed (stored) entries"
            )));
        }
        if entry.compressed_size != entry.size {
            return Err(corrupted(&format!(
                "the stored entry \"{name}\" has different compressed and uncompressed sizes"
            )));
        }

        let offset = usize::try_from(entry.local_header_offset).map_err(|_| truncated())?;
        let mut c = Cursor::at(self.data, offset);
        if c.u32()? != LOCAL_HEADER_SIGNATURE {
            return Err(corrupted(&format!(
                "the local header of \"{name}\" is missing"
            )));
        }
        c.u16()?; // version needed
        let flags = c.u16()?;
        let method = c.u16()?;
        c.u32()?; // time and date
        let crc = c.u32()?;
        let compressed = c.u32()?;
        let size = c.u32()?;
        let name_len = c.u16()? as usize;
        let extra_len = c.u16()? as usize;
        let local_name = c.bytes(name_len)?;
        c.bytes(extra_len)?;
        // Sizes and CRC in a local header are zero when a data descriptor
        // follows the data, and 0xFFFFFFFF when Zip64 extra fields hold them.
        let sizes_agree = flags & FLAG_DATA_DESCRIPTOR != 0
            || (crc == entry.crc32
                && (compressed == 0xFFFF_FFFF || compressed as u64 == entry.compressed_size)
                && (size == 0xFFFF_FFFF || size as u64 == entry.size));
        if method != entry.method || local_name != entry.name.as_bytes() || !sizes_agree {
            return Err(corrupted(&format!(
                "the local header of \"{name}\" disagrees with the central directory"
            )));
        }

        let len = usize::try_from(entry.size).map_err(|_| truncated())?;
        let bytes = c.bytes(len)?;
        let actual = crc32(bytes);
        if actual != entry.crc32 {
            return Err(corrupted(&format!(
                "the CRC-32 of \"{name}\" is {actual:08x} but the archive records {:08x}",
                entry.crc32
            )));
        }
        Ok(Some(bytes))
    }
}

/// Finds the end-of-central-directory record, searching back from the end
/// of `data` over the longest possible archive comment.
fn find_end_record(data: &[u8]) -> Result<usize> {
    if data.len() < END_RECORD_LEN {
        return Err(not_a_zip(data));
    }
    let last = data.len() - END_RECORD_LEN;
    let first = last.saturating_sub(MAX_COMMENT_LEN);
    for pos in (first..=last).rev() {
        if data[pos..pos + 4] == END_SIGNATURE.to_le_bytes() {
            let comment_len = u16::from_le_bytes([data[pos + 20], data[pos + 21]]) as usize;
            if pos + END_RECORD_LEN + comment_len == data.len() {
                return Ok(pos);
            }
        }
    }
    Err(not_a_zip(data))
}

fn not_a_zip(data: &[u8]) -> Error {
    if looks_like_zip(data) {
        Error::File(
            "the zip archive is truncated: its end-of-central-directory record is missing".into(),
        )
    } else {
        Error::File("the data is not a zip archive".into())
    }
}

fn read_central_header(c: &mut Cursor) -> Result<ZipEntry> {
    if c.u32()? != CENTRAL_HEADER_SIGNATURE {
        return Err(corrupted("a central directory header is missing"));
    }
    c.u16()?; // version made by
    c.u16()?; // version needed
    let flags = c.u16()?;
    let method = c.u16()?;
    c.u32()?; // time and date
    let crc32 = c.u32()?;
    let mut compressed_size = c.u32()? as u64;
    let mut size = c.u32()? as u64;
    let name_len = c.u16()? as usize;
    let extra_len = c.u16()? as usize;
    let comment_len = c.u16()? as usize;
    c.u16()?; // disk number
    c.u16()?; // internal attributes
    c.u32()?; // external attributes
    let mut local_header_offset = c.u32()? as u64;
    let name_bytes = c.bytes(name_len)?;
    let extra = c.bytes(extra_len)?;
    c.bytes(comment_len)?;

    // Zip64 extended information (header id 1) contains, in this order, only
    // the fields whose 32-bit value is 0xFFFFFFFF.
    let mut e = Cursor::at(extra, 0);
    while e.pos + 4 <= extra.len() {
        let id = e.u16()?;
        let len = e.u16()? as usize;
        let body = e.bytes(len)?;
        if id == 1 {
            let mut z = Cursor::at(body, 0);
            if size == 0xFFFF_FFFF {
                size = z.u64()?;
            }
            if compressed_size == 0xFFFF_FFFF {
                compressed_size = z.u64()?;
            }
            if local_header_offset == 0xFFFF_FFFF {
                local_header_offset = z.u64()?;
            }
        }
    }

    // Names without the UTF-8 flag are in code page 437, which agrees
    // with UTF-8 on ASCII; other bytes are shown as replacement characters.
    let name = String::from_utf8_lossy(name_bytes).into_owned();
    Ok(ZipEntry {
        name,
        method,
        flags,
        crc32,
        compressed_size,
        size,
        local_header_offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = ZipWriter::default();
        w.add("metadata.json", b"{\"a\": 1}").unwrap();
        w.add("empty", b"").unwrap();
        w.add("data.bin", &(0..=255u8).collect::<Vec<_>>()).unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn crc32_matches_check_value() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        // Lengths around the 8-byte step agree with a bitwise reference.
        let data: Vec<u8> = (0..100u32).map(|i| (i * 37 % 251) as u8).collect();
        for n in 0..data.len() {
            assert_eq!(crc32(&data[..n]), crc32_bitwise(&data[..n]), "length {n}");
        }
    }

    fn crc32_bitwise(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    0xEDB8_8320 ^ (crc >> 1)
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn written_archive_reads_back() {
        let bytes = sample();
        let zip = ZipArchive::parse(&bytes).unwrap();
        assert_eq!(zip.names(), vec!["metadata.json", "empty", "data.bin"]);
        assert_eq!(zip.read("metadata.json").unwrap().unwrap(), b"{\"a\": 1}");
        assert_eq!(zip.read("empty").unwrap().unwrap(), b"");
        assert_eq!(zip.read("data.bin").unwrap().unwrap().len(), 256);
        assert_eq!(zip.read("missing").unwrap(), None);
        assert!(looks_like_zip(&bytes));
    }

    #[test]
    fn writer_is_deterministic() {
        assert_eq!(sample(), sample());
    }

    #[test]
    fn empty_archive_reads_back() {
        let bytes = ZipWriter::default().finish().unwrap();
        assert_eq!(bytes.len(), END_RECORD_LEN);
        assert!(ZipArchive::parse(&bytes).unwrap().entries().is_empty());
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample();
        for n in 0..bytes.len() {
            assert!(
                ZipArchive::parse(&bytes[..n]).is_err(),
                "prefix of {n} bytes"
            );
        }
    }

    #[test]
    fn every_flipped_byte_is_caught_or_harmless() {
        // Fields that no reader needs (times, versions, attributes) may
        // change without an error; the content read must then be unchanged.
        let bytes = sample();
        let good = ZipArchive::parse(&bytes).unwrap();
        let expected: Vec<Vec<u8>> = good
            .names()
            .iter()
            .map(|n| good.read(n).unwrap().unwrap().to_vec())
            .collect();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x5A;
            let Ok(zip) = ZipArchive::parse(&bad) else {
                continue;
            };
            for (name, want) in ["metadata.json", "empty", "data.bin"].iter().zip(&expected) {
                if let Ok(Some(got)) = zip.read(name) {
                    assert_eq!(got, &want[..], "byte {i} changed {name}");
                }
            }
        }
    }

    #[test]
    fn compressed_entries_are_listed_but_not_read() {
        // A deflate archive written by Python 3.11's zipfile:
        //   zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED).writestr("config.json", "{}" * 50)
        let bytes = include_bytes!("../../tests/fixtures/deflate.zip");
        let zip = ZipArchive::parse(bytes).unwrap();
        assert_eq!(zip.names(), vec!["config.json", "model.weights.h5"]);
        assert_eq!(zip.find("config.json").unwrap().method, METHOD_DEFLATE);
        let err = zip.read("config.json").unwrap_err().to_string();
        assert!(err.contains("deflate (method 8)"), "{err}");
    }

    #[test]
    fn zip64_local_headers_are_read() {
        // Written by Python 3.11's zipfile with `open(name, "w",
        // force_zip64=True)`: the local headers give the sizes as 0xFFFFFFFF
        // and hold them in Zip64 extra fields.
        let bytes = include_bytes!("../../tests/fixtures/zip64.zip");
        let zip = ZipArchive::parse(bytes).unwrap();
        assert_eq!(zip.names(), vec!["a.txt", "b.txt"]);
        assert_eq!(zip.read("a.txt").unwrap().unwrap(), b"first entry");
        assert_eq!(zip.read("b.txt").unwrap().unwrap(), b"second entry");
    }

    #[test]
    fn zip64_end_record_and_extra_fields_are_read() {
        // One stored entry whose sizes and offset are 0xFFFFFFFF in the
        // central directory and given in a Zip64 extra field. The end record
        // points to a Zip64 end record through the Zip64 locator.
        let data = b"zip64 content";
        let mut out = Vec::new();
        put_u32(&mut out, LOCAL_HEADER_SIGNATURE);
        for v in [45u16, 0, METHOD_STORED, 0, DOS_DATE_1980] {
            put_u16(&mut out, v);
        }
        put_u32(&mut out, crc32(data));
        put_u32(&mut out, data.len() as u32);
        put_u32(&mut out, data.len() as u32);
        put_u16(&mut out, 1);
        put_u16(&mut out, 0);
        out.push(b'z');
        out.extend_from_slice(data);
        let central_offset = out.len() as u64;
        put_u32(&mut out, CENTRAL_HEADER_SIGNATURE);
        for v in [45u16, 45, 0, METHOD_STORED, 0, DOS_DATE_1980] {
            put_u16(&mut out, v);
        }
        put_u32(&mut out, crc32(data));
        put_u32(&mut out, 0xFFFF_FFFF);
        put_u32(&mut out, 0xFFFF_FFFF);
        for v in [1u16, 28, 0, 0, 0] {
            put_u16(&mut out, v); // name, extra and comment lengths, disk, attributes
        }
        put_u32(&mut out, 0);
        put_u32(&mut out, 0xFFFF_FFFF);
        out.push(b'z');
        put_u16(&mut out, 1);
        put_u16(&mut out, 24);
        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
        let central_size = out.len() as u64 - central_offset;
        let zip64_end = out.len() as u64;
        put_u32(&mut out, ZIP64_END_SIGNATURE);
        out.extend_from_slice(&44u64.to_le_bytes());
        for v in [45u16, 45] {
            put_u16(&mut out, v);
        }
        put_u32(&mut out, 0);
        put_u32(&mut out, 0);
        for v in [1u64, 1, central_size, central_offset] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        put_u32(&mut out, ZIP64_LOCATOR_SIGNATURE);
        put_u32(&mut out, 0);
        out.extend_from_slice(&zip64_end.to_le_bytes());
        put_u32(&mut out, 1);
        put_u32(&mut out, END_SIGNATURE);
        for v in [0u16, 0, 0xFFFF, 0xFFFF] {
            put_u16(&mut out, v);
        }
        put_u32(&mut out, 0xFFFF_FFFF);
        put_u32(&mut out, 0xFFFF_FFFF);
        put_u16(&mut out, 0);

        let zip = ZipArchive::parse(&out).unwrap();
        assert_eq!(zip.names(), vec!["z"]);
        assert_eq!(zip.find("z").unwrap().size, data.len() as u64);
        assert_eq!(zip.read("z").unwrap().unwrap(), data);
    }

    #[test]
    fn data_that_is_not_a_zip_is_named() {
        let err = ZipArchive::parse(b"\x89HDF\r\n\x1a\n and more bytes than 22 of them")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "the data is not a zip archive");
    }
}
