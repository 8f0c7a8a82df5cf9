using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Bpi.Orchestration.Routing.Benchmarks;

/// <summary>The benchmark's backend: a minimal HTTP/1.1 keep-alive responder with a fixed 13-byte body, pipelining-safe.</summary>
internal static class Backend
{
    public static readonly byte[] Response = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nhello, world\n");

    public static async Task RunAsync(int port, CancellationToken cancellationToken)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(1024);
        while (!cancellationToken.IsCancellationRequested)
        {
            var socket = await listener.AcceptAsync(cancellationToken);
            socket.NoDelay = true;
            _ = ServeAsync(socket);
        }
    }

    private static async Task ServeAsync(Socket socket)
    {
        var buffer = new byte[16 * 1024];
        var matched = 0; // how much of "\r\n\r\n" the previous read ended with
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                {
                    return;
                }

                var requests = 0;
                for (var i = 0; i < read; i++)
                {
                    var b = buffer[i];
                    matched = b == (matched is 0 or 2 ? (byte)'\r' : (byte)'\n') ? matched + 1 : (b == '\r' ? 1 : 0);
                    if (matched == 4)
                    {
                        requests++;
                        matched = 0;
                    }
                }

                for (var r = 0; r < requests; r++)
                {
                    await socket.SendAsync(Response, SocketFlags.None);
                }
            }
        }
        catch (SocketException)
        {
        }
        finally
        {
            socket.Dispose();
        }
    }
}

/// <summary>The benchmark's client: one keep-alive connection, one request at a time.</summary>
internal sealed class Client : IDisposable
{
    private static readonly byte[] Request = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: bench\r\n\r\n");
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    private readonly byte[] _buffer = new byte[16 * 1024];
    private string _target = "";

    public static async Task<Client> ConnectAsync(int port, string target)
    {
        var client = new Client { _target = target };
        await client._socket.ConnectAsync(IPAddress.Loopback, port);
        return client;
    }

    /// <summary>Sends a GET and reads the whole response (headers, then Content-Length bytes of body).</summary>
    public async ValueTask GetAsync()
    {
        await _socket.SendAsync(Request, SocketFlags.None);
        var filled = 0;
        while (true)
        {
            var read = await _socket.ReceiveAsync(_buffer.AsMemory(filled), SocketFlags.None);
            if (read == 0)
            {
                throw new IOException($"{_target} closed the connection.");
            }

            filled += read;
            var headEnd = _buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
            if (headEnd < 0)
            {
                continue;
            }

            var length = ContentLength(_buffer.AsSpan(0, headEnd));
            if (filled - headEnd - 4 >= length)
            {
                if (filled - headEnd - 4 > length)
                {
                    throw new IOException("Unexpected extra bytes after the response.");
                }

                return;
            }
        }
    }

    public void Dispose() => _socket.Dispose();

    private static int ContentLength(ReadOnlySpan<byte> head)
    {
        var at = head.IndexOf("Content-Length: "u8);
        var value = 0;
        for (var i = at + 16; i < head.Length && head[i] is >= (byte)'0' and <= (byte)'9'; i++)
        {
            value = (value * 10) + (head[i] - '0');
        }

        return value;
    }
}
