using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Bpi.Orchestration.Notifications.Tests;

/// <summary>
/// A real HTTP receiver on loopback that checks every request's <c>X-Bpi-Signature</c> against the secret of the path it
/// came to (computed here, independently of the SDK), records it, and answers with the status <paramref name="status"/> gives.
/// </summary>
internal sealed class SigningReceiver : IDisposable
{
    private readonly ConcurrentQueue<Received> _received = new();
    private readonly LoopbackHttpServer _server;

    public SigningReceiver(IReadOnlyDictionary<string, string> secretsByPath, Func<string, int>? status = null)
    {
        _server = new LoopbackHttpServer((request, body) =>
        {
            var path = request.Url!.AbsolutePath;
            var signature = request.Headers["X-Bpi-Signature"];
            var valid = secretsByPath.TryGetValue(path, out var secret) && signature is not null
                && signature == "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));
            _received.Enqueue(new Received(path, request.ContentType, valid, request.Headers["X-Bpi-Notification-Id"], body));
            return (valid ? status?.Invoke(path) ?? 200 : 401, "");
        });
    }

    public Uri Url(string path) => new(_server.Url, path);

    public IReadOnlyList<Received> Received => [.. _received];

    public void Dispose() => _server.Dispose();
}

internal sealed record Received(string Path, string? ContentType, bool SignatureValid, string? NotificationId, string Body)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;
}
