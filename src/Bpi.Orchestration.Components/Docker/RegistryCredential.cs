namespace Bpi.Orchestration.Components.Docker;

/// <summary>A user name and password (or token) for one container registry.</summary>
public sealed class RegistryCredential
{
    /// <summary>Creates a credential.</summary>
    /// <param name="username">The registry user.</param>
    /// <param name="password">The password or access token.</param>
    public RegistryCredential(string username, string password)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(username);
        ArgumentNullException.ThrowIfNull(password);
        Username = username;
        Password = password;
    }

    /// <summary>The registry user.</summary>
    public string Username { get; }

    /// <summary>The password or access token; never logged.</summary>
    public string Password { get; }

    /// <inheritdoc />
    public override string ToString() => $"RegistryCredential {{ Username = {Username}, Password = *** }}";
}
