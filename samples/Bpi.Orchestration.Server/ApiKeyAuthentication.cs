using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Server;

/// <summary>
/// Authenticates a request by an API key in <c>Authorization: Bearer &lt;key&gt;</c> or <c>X-Api-Key</c>: the key's
/// user becomes the name identifier and its roles role claims, which the API maps to the orchestrator's actor (so the
/// Security package's policy decides). Keys are compared by their SHA-256 in constant time.
/// </summary>
internal sealed class ApiKeyAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyRing keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? presented = null;
        if (Request.Headers.TryGetValue(HeaderName, out var header))
        {
            presented = header.ToString();
        }
        else if (Request.Headers.Authorization.ToString() is { } authorization && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            presented = authorization["Bearer ".Length..].Trim();
        }

        if (string.IsNullOrEmpty(presented))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (keys.Find(presented) is not { } key)
        {
            return Task.FromResult(AuthenticateResult.Fail("The API key is not known."));
        }

        var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, key.User) };
        claims.AddRange(key.Roles.Select(r => new Claim(ClaimTypes.Role, r)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        return base.HandleChallengeAsync(properties);
    }
}

/// <summary>The configured API keys, or the one generated into the state directory.</summary>
internal sealed class ApiKeyRing
{
    private readonly List<(byte[] Hash, ApiKeyOptions Key)> _keys;

    public ApiKeyRing(IEnumerable<ApiKeyOptions> keys)
        => _keys = [.. keys.Select(k => (SHA256.HashData(Encoding.UTF8.GetBytes(k.Key)), k))];

    /// <summary>Where the generated key was written, when no key was configured.</summary>
    public string? GeneratedKeyFile { get; init; }

    public ApiKeyOptions? Find(string presented)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        ApiKeyOptions? found = null;
        foreach (var (candidate, key) in _keys)
        {
            // Every key is compared, so the time taken says nothing about which one matched.
            if (CryptographicOperations.FixedTimeEquals(candidate, hash))
            {
                found = key;
            }
        }

        return found;
    }

    /// <summary>
    /// The configured keys; with none, the key in <c>api-key</c> in the state directory for user <c>admin</c> with role
    /// <c>admin</c>, created on first start (32 random bytes, base64url, owner-only file).
    /// </summary>
    public static ApiKeyRing Create(ServerOptions options, string stateDirectory)
    {
        if (options.ApiKeys.Count > 0)
        {
            return new ApiKeyRing(options.ApiKeys);
        }

        var file = Path.Combine(stateDirectory, "api-key");
        if (!File.Exists(file))
        {
            var key = Base64Url(RandomNumberGenerator.GetBytes(32));
            ServerFiles.WriteSecret(file, key + "\n");
        }

        var text = File.ReadAllText(file).Trim();
        if (text.Length < 16)
        {
            throw new InvalidOperationException($"The API key file {file} holds fewer than 16 characters; delete it to have a new key generated.");
        }

        return new ApiKeyRing([new ApiKeyOptions { Key = text, User = "admin", Roles = ["admin"] }]) { GeneratedKeyFile = file };
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
