using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Bpi.Orchestration.Components.Tests.Infrastructure;

/// <summary>One request the fake engine received.</summary>
internal sealed record FakeRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string PathWithoutQuery => Path.Split('?')[0];
}

/// <summary>What the fake engine answers.</summary>
internal sealed record FakeResponse(int Status, string? Body = null, IReadOnlyDictionary<string, string>? Headers = null)
{
    public static FakeResponse Json(int status, string json) => new(status, json, new Dictionary<string, string> { ["Content-Type"] = "application/json" });

    public static FakeResponse Error(int status, string message) => Json(status, "{\"message\":\"" + message.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"}");
}

/// <summary>
/// A tiny HTTP/1.1 server on a real socket (loopback TCP or a unix socket) that plays a Docker Engine: the client under
/// test talks to it through its real transport. <see cref="Versioned"/> builds an engine with an API version range that
/// answers <c>/_ping</c> and <c>/version</c> and rejects out-of-range versions with the engine's own messages.
/// </summary>
internal sealed class FakeDockerEngine : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Func<FakeRequest, Task<FakeResponse>> _handler;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private readonly string? _socketPath;

    private FakeDockerEngine(Socket listener, Func<FakeRequest, Task<FakeResponse>> handler, string endpoint, string? socketPath)
    {
        _listener = listener;
        _handler = handler;
        Endpoint = endpoint;
        _socketPath = socketPath;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The <c>DOCKER_HOST</c>-style endpoint to give the client.</summary>
    public string Endpoint { get; }

    public ConcurrentQueue<FakeRequest> Requests { get; } = new();

    public int Count(string path) => Requests.Count(r => r.PathWithoutQuery == path);

    public static FakeDockerEngine StartTcp(Func<FakeRequest, Task<FakeResponse>> handler)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(16);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        return new FakeDockerEngine(listener, handler, "tcp://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture), null);
    }

    public static FakeDockerEngine StartUnix(Func<FakeRequest, Task<FakeResponse>> handler)
    {
        var path = Path.Combine(Path.GetTempPath(), "bpi-fake-docker-" + Guid.NewGuid().ToString("N")[..8] + ".sock");
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(16);
        return new FakeDockerEngine(listener, handler, "unix://" + path, path);
    }

    public static FakeResponse Unhandled(FakeRequest request) => FakeResponse.Error(404, "page not found: " + request.Path);

    /// <summary>
    /// A handler for an engine speaking API <paramref name="minimum"/>..<paramref name="maximum"/> (read at each request,
    /// so a test can "upgrade" the engine); versioned requests inside the range go to <paramref name="inner"/>.
    /// </summary>
    public static Func<FakeRequest, Task<FakeResponse>> Versioned(Func<(string Minimum, string Maximum)> range, Func<FakeRequest, FakeResponse>? inner = null)
    {
        inner ??= Unhandled;
        return request =>
        {
            var (minimum, maximum) = range();
            var path = request.PathWithoutQuery;
            if (path == "/_ping")
            {
                return Task.FromResult(new FakeResponse(200, "OK", new Dictionary<string, string> { ["API-Version"] = maximum, ["Content-Type"] = "text/plain" }));
            }

            if (path == "/version")
            {
                return Task.FromResult(FakeResponse.Json(200, $"{{\"Version\":\"fake-{maximum}\",\"ApiVersion\":\"{maximum}\",\"MinAPIVersion\":\"{minimum}\",\"Os\":\"linux\"}}"));
            }

            if (path.StartsWith("/v", StringComparison.Ordinal))
            {
                var slash = path.IndexOf('/', 1);
                var version = Version.Parse(path[2..slash]);
                if (version > Version.Parse(maximum))
                {
                    return Task.FromResult(FakeResponse.Error(400, $"client version {version} is too new. Maximum supported API version is {maximum}"));
                }

                if (version < Version.Parse(minimum))
                {
                    return Task.FromResult(FakeResponse.Error(400, $"client version {version} is too old. Minimum supported API version is {minimum}, please upgrade your client to a newer version"));
                }

                return Task.FromResult(inner(request with { Path = request.Path[slash..] }));
            }

            return Task.FromResult(Unhandled(request));
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        try
        {
            await _acceptLoop;
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
        if (_socketPath is not null)
        {
            File.Delete(_socketPath);
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(connection));
        }
    }

    private async Task ServeAsync(Socket connection)
    {
        using var socket = connection;
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var reader = new BufferedReader(stream);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var requestLine = await reader.ReadLineAsync(_stop.Token);
                if (requestLine is null)
                {
                    return;
                }

                var parts = requestLine.Split(' ');
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                string? line;
                while (!string.IsNullOrEmpty(line = await reader.ReadLineAsync(_stop.Token)))
                {
                    var colon = line.IndexOf(':', StringComparison.Ordinal);
                    headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
                }

                var body = await ReadBodyAsync(reader, headers, _stop.Token);
                var request = new FakeRequest(parts[0], parts[1], headers, body);
                Requests.Enqueue(request);
                var response = await _handler(request);
                var payload = Encoding.UTF8.GetBytes(response.Body ?? "");
                var head = new StringBuilder()
                    .Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {response.Status} {Reason(response.Status)}\r\n")
                    .Append(CultureInfo.InvariantCulture, $"Content-Length: {payload.Length}\r\n");
                foreach (var (name, value) in response.Headers ?? new Dictionary<string, string>())
                {
                    head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
                }

                head.Append("\r\n");
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), _stop.Token);
                await stream.WriteAsync(payload, _stop.Token);
            }
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The client closed the connection or the server stopped.
        }
    }

    private static async Task<byte[]> ReadBodyAsync(BufferedReader reader, Dictionary<string, string> headers, CancellationToken cancellationToken)
    {
        if (headers.TryGetValue("Content-Length", out var length))
        {
            return await reader.ReadExactlyAsync(int.Parse(length, CultureInfo.InvariantCulture), cancellationToken);
        }

        if (headers.TryGetValue("Transfer-Encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            var body = new MemoryStream();
            while (true)
            {
                var sizeLine = await reader.ReadLineAsync(cancellationToken) ?? "0";
                var size = int.Parse(sizeLine.Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    await reader.ReadLineAsync(cancellationToken);
                    return body.ToArray();
                }

                body.Write(await reader.ReadExactlyAsync(size, cancellationToken));
                await reader.ReadLineAsync(cancellationToken);
            }
        }

        return [];
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        404 => "Not Found",
        409 => "Conflict",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };

    /// <summary>Reads CRLF lines and exact byte counts from a stream.</summary>
    private sealed class BufferedReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[8192];
        private int _start;
        private int _end;

        public async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
        {
            var line = new MemoryStream();
            while (true)
            {
                if (_start == _end && !await FillAsync(cancellationToken))
                {
                    return line.Length == 0 ? null : Encoding.ASCII.GetString(line.ToArray());
                }

                var b = _buffer[_start++];
                if (b == '\n')
                {
                    var text = Encoding.ASCII.GetString(line.ToArray());
                    return text.EndsWith('\r') ? text[..^1] : text;
                }

                line.WriteByte(b);
            }
        }

        public async Task<byte[]> ReadExactlyAsync(int count, CancellationToken cancellationToken)
        {
            var result = new byte[count];
            var filled = 0;
            while (filled < count)
            {
                if (_start == _end && !await FillAsync(cancellationToken))
                {
                    throw new IOException("The connection closed inside a body.");
                }

                var take = Math.Min(count - filled, _end - _start);
                Array.Copy(_buffer, _start, result, filled, take);
                _start += take;
                filled += take;
            }

            return result;
        }

        private async Task<bool> FillAsync(CancellationToken cancellationToken)
        {
            _start = 0;
            _end = await stream.ReadAsync(_buffer, cancellationToken);
            return _end > 0;
        }
    }
}
