//! Splitting a batch into fixed chunks of samples for parallel layer work.
//!
//! A chunk's size depends only on the layer and the batch, never on the
//! number of threads, and each chunk is computed by the same code whether
//! chunks run in parallel or one after another. Per-chunk partial sums
//! (weight gradients) are combined afterwards in chunk order, so results are
//! bitwise identical for any thread count.

/// Views of several buffers, each cut into consecutive chunks of a fixed
/// number of floats (`*_stride`). The last chunk of a buffer may be shorter,
/// because the last chunk of a batch may hold fewer samples.
pub(crate) struct Chunks<'a, const R: usize, const W: usize> {
    pub read: [&'a [f32]; R],
    pub write: [&'a mut [f32]; W],
    read_stride: [usize; R],
    write_stride: [usize; W],
}

impl<'a, const R: usize, const W: usize> Chunks<'a, R, W> {
    /// Pairs each buffer with its floats per chunk. A stride of 0 gives every
    /// chunk an empty view of that buffer.
    pub fn new(
        read: [&'a [f32]; R],
        read_stride: [usize; R],
        write: [&'a mut [f32]; W],
        write_stride: [usize; W],
    ) -> Self {
        Chunks {
            read,
            write,
            read_stride,
            write_stride,
        }
    }

    /// Splits after the first `chunks` chunks.
    fn split(self, chunks: usize) -> (Self, Self) {
        let mut left_read: [&'a [f32]; R] = [&[]; R];
        let mut right_read: [&'a [f32]; R] = [&[]; R];
        for (i, buf) in self.read.into_iter().enumerate() {
            let at = (chunks * self.read_stride[i]).min(buf.len());
            let (l, r) = buf.split_at(at);
            left_read[i] = l;
            right_read[i] = r;
        }
        let mut left_write: [&'a mut [f32]; W] = std::array::from_fn(|_| Default::default());
        let mut right_write: [&'a mut [f32]; W] = std::array::from_fn(|_| Default::default());
        for (i, buf) in self.write.into_iter().enumerate() {
            let at = (chunks * self.write_stride[i]).min(buf.len());
            let (l, r) = buf.split_at_mut(at);
            left_write[i] = l;
            right_write[i] = r;
        }
        (
            Chunks {
                read: left_read,
                write: left_write,
                read_stride: self.read_stride,
                write_stride: self.write_stride,
            },
            Chunks {
                read: right_read,
                write: right_write,
                read_stride: self.read_stride,
                write_stride: self.write_stride,
            },
        )
    }

    /// Calls `f(index, chunk)` for chunks `0..count`: split in halves with
    /// `rayon::join` when `parallel`, else in order on this thread.
    pub fn for_each(
        self,
        count: usize,
        parallel: bool,
        f: &(impl Fn(usize, Chunks<'_, R, W>) + Sync),
    ) {
        if parallel {
            self.for_each_parallel(0, count, f);
        } else {
            let mut rest = self;
            for index in 0..count {
                let (chunk, tail) = rest.split(1);
                f(index, chunk);
                rest = tail;
            }
        }
    }

    fn for_each_parallel(
        self,
        first: usize,
        count: usize,
        f: &(impl Fn(usize, Chunks<'_, R, W>) + Sync),
    ) {
        match count {
            0 => {}
            1 => f(first, self),
            _ => {
                let half = count / 2;
                let (left, right) = self.split(half);
                rayon::join(
                    || left.for_each_parallel(first, half, f),
                    || right.for_each_parallel(first + half, count - half, f),
                );
            }
        }
    }
}

thread_local! {
    /// Scratch memory of the chunk a thread is computing (im2col columns).
    static CHUNK_BUFFER: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Runs `f` on a buffer of `len` floats owned by the calling thread, with
/// unspecified contents. The buffer grows on first use and is then reused,
/// so steady-state training allocates nothing here. Reusing one buffer per
/// thread also keeps it in that core's cache, where a buffer per chunk from
/// the plan would stream through memory. A nested call on the same thread
/// (from work stolen inside `f`) gets a buffer of its own.
pub(crate) fn with_thread_buffer<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut buffer = CHUNK_BUFFER.with(|cell| cell.take());
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    let result = f(&mut buffer[..len]);
    CHUNK_BUFFER.with(|cell| cell.set(buffer));
    result
}

/// True when a layer should spread `work` (a rough count of multiply-adds)
/// over the engine's threads: on a pool thread, with more than one thread
/// and enough work to pay for waking another thread.
pub(crate) fn worth_parallel(work: usize, chunks: usize) -> bool {
    const MIN_WORK: usize = 1 << 16;
    chunks > 1 && work >= MIN_WORK && crate::pool::in_pool() && rayon::current_num_threads() > 1
}

/// Sums `partials` (consecutive blocks of `out.len()` floats, one per chunk)
/// into `out` block by block in chunk order. Elements are split over threads
/// when `parallel`; each element's sum keeps the same order either way.
pub(crate) fn sum_partials(partials: &[f32], out: &mut [f32], parallel: bool) {
    use rayon::prelude::*;
    let width = out.len();
    if width == 0 {
        return;
    }
    let blocks = partials.len() / width;
    if blocks == 0 {
        out.fill(0.0);
        return;
    }
    let body = |start: usize, out: &mut [f32]| {
        let len = out.len();
        out.copy_from_slice(&partials[start..start + len]);
        for block in 1..blocks {
            let offset = block * width + start;
            out.iter_mut()
                .zip(&partials[offset..offset + len])
                .for_each(|(o, p)| *o += p);
        }
    };
    const PIECE: usize = 4096;
    if parallel && width * blocks >= 1 << 15 {
        out.par_chunks_mut(PIECE)
            .enumerate()
            .for_each(|(i, piece)| body(i * PIECE, piece));
    } else {
        body(0, out);
    }
}

/// Splits `workspace` into per-chunk weight-gradient buffers, one per
/// parameter, in the layout that [`sum_param_partials`] reads: `chunks`
/// blocks of `lens[k]` floats for parameter `k`.
pub(crate) fn split_param_partials<const N: usize>(
    workspace: &mut [f32],
    chunks: usize,
    lens: [usize; N],
) -> [&mut [f32]; N] {
    let mut rest = workspace;
    lens.map(|len| {
        let (part, tail) = std::mem::take(&mut rest).split_at_mut(chunks * len);
        rest = tail;
        part
    })
}

/// Sums per-chunk weight gradients into `grads`, one entry per parameter.
/// `partials` contains, parameter after parameter, `chunks` consecutive
/// blocks of `lens[k]` floats for parameter `k`; a length of 0 skips the
/// parameter.
pub(crate) fn sum_param_partials(
    partials: &[f32],
    chunks: usize,
    lens: &[usize],
    grads: &mut [Vec<f32>],
) {
    let parallel = crate::pool::in_pool() && rayon::current_num_threads() > 1;
    let mut start = 0;
    for (grad, &len) in grads.iter_mut().zip(lens) {
        if len == 0 {
            continue;
        }
        sum_partials(&partials[start..start + chunks * len], grad, parallel);
        start += chunks * len;
    }
}
