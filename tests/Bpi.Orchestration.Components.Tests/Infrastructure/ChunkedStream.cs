namespace Bpi.Orchestration.Components.Tests.Infrastructure;

/// <summary>A read-only stream that hands out its bytes in the given chunk sizes, one chunk per read, to split frames anywhere.</summary>
internal sealed class ChunkedStream(byte[] data, IReadOnlyList<int> chunkSizes) : Stream
{
    private int _position;
    private int _chunk;

    public int Reads { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => data.Length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public static ChunkedStream SplitAt(byte[] data, params int[] boundaries)
    {
        var sizes = new List<int>();
        var previous = 0;
        foreach (var boundary in boundaries.Order())
        {
            sizes.Add(boundary - previous);
            previous = boundary;
        }

        sizes.Add(data.Length - previous);
        return new ChunkedStream(data, sizes);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_position >= data.Length || buffer.Length == 0)
        {
            return 0;
        }

        Reads++;

        // Zero-sized chunks are skipped: a read returning 0 means end of stream.
        var size = 0;
        while (size == 0)
        {
            size = _chunk < chunkSizes.Count ? chunkSizes[_chunk] : data.Length - _position;
            _chunk++;
        }

        size = Math.Min(Math.Min(size, buffer.Length), data.Length - _position);
        data.AsSpan(_position, size).CopyTo(buffer);
        _position += size;
        return size;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
