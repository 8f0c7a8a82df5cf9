using Microsoft.Win32.SafeHandles;

namespace Bpi.Orchestration.Audit;

internal enum FrameStatus
{
    /// <summary>A whole frame is in the buffer.</summary>
    Frame,

    /// <summary>The source ended exactly at a frame boundary.</summary>
    End,

    /// <summary>The next frame is not fully buffered and refilling was not allowed.</summary>
    NeedsRefill,

    /// <summary>The source ends inside a frame header or body.</summary>
    Incomplete,

    /// <summary>The frame's length field is out of range.</summary>
    BadLength,
}

/// <summary>
/// Reads frames in order from a file range or a stream through one large buffer, without allocating per frame.
/// Only lengths are checked here; callers check CRCs and contents. Frames returned before a refill are invalidated by
/// it, so batch callers pass <c>allowRefill: false</c> while they hold frames.
/// </summary>
internal sealed class SequentialFrameReader
{
    private readonly Func<Memory<byte>, long, int> _read;
    private byte[] _buffer;
    private int _start;
    private int _length;
    private long _bufferOffset;
    private bool _eof;

    public SequentialFrameReader(SafeFileHandle handle, long start, long end, int blockSize = 4 * 1024 * 1024)
    {
        _read = (memory, offset) =>
        {
            var count = (int)Math.Min(memory.Length, end - offset);
            return count <= 0 ? 0 : RandomAccess.Read(handle, memory.Span[..count], offset);
        };
        _buffer = new byte[(int)Math.Clamp(end - start, 64, blockSize)];
        _bufferOffset = start;
    }

    public SequentialFrameReader(Stream stream, long start, int blockSize = 4 * 1024 * 1024)
    {
        _read = (memory, _) => stream.Read(memory.Span);
        _buffer = new byte[blockSize];
        _bufferOffset = start;
    }

    public byte[] Buffer => _buffer;

    /// <summary>The source offset of the next frame.</summary>
    public long Position => _bufferOffset + _start;

    /// <summary>The source offset of buffer index 0.</summary>
    public long BufferOffset => _bufferOffset;

    /// <summary>Reads exactly <paramref name="destination"/>.Length raw bytes (for headers); false at end of source.</summary>
    public bool TryReadRaw(Span<byte> destination)
    {
        if (!Ensure(destination.Length, allowRefill: true))
        {
            return false;
        }

        _buffer.AsSpan(_start, destination.Length).CopyTo(destination);
        _start += destination.Length;
        return true;
    }

    public FrameStatus TryNext(bool allowRefill, int maxBodyLength, out int offset, out int frameLength)
    {
        frameLength = 0;
        if (!Ensure(RecordFraming.HeaderSize, allowRefill))
        {
            offset = _start;
            return !_eof ? FrameStatus.NeedsRefill : _length - _start == 0 ? FrameStatus.End : FrameStatus.Incomplete;
        }

        var bodyLength = RecordFraming.ReadLength(_buffer.AsSpan(_start));
        if (bodyLength > (uint)maxBodyLength)
        {
            offset = _start;
            return FrameStatus.BadLength;
        }

        var total = RecordFraming.HeaderSize + (int)bodyLength;
        if (!Ensure(total, allowRefill))
        {
            offset = _start;
            return !_eof ? FrameStatus.NeedsRefill : FrameStatus.Incomplete;
        }

        offset = _start;
        frameLength = total;
        _start += total;
        return FrameStatus.Frame;
    }

    private bool Ensure(int needed, bool allowRefill)
    {
        if (_length - _start >= needed)
        {
            return true;
        }

        if (_eof || !allowRefill)
        {
            return false;
        }

        var kept = _length - _start;
        if (needed > _buffer.Length)
        {
            var grown = new byte[Math.Max(needed, _buffer.Length * 2)];
            _buffer.AsSpan(_start, kept).CopyTo(grown);
            _buffer = grown;
        }
        else if (_start > 0)
        {
            _buffer.AsSpan(_start, kept).CopyTo(_buffer);
        }

        _bufferOffset += _start;
        _start = 0;
        _length = kept;
        while (_length < _buffer.Length)
        {
            var read = _read(_buffer.AsMemory(_length), _bufferOffset + _length);
            if (read == 0)
            {
                _eof = true;
                break;
            }

            _length += read;
        }

        return _length >= needed;
    }
}
