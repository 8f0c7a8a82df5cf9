namespace Bpi.Orchestration.Configuration;

/// <summary>
/// What a host changes while a deployment document is read: values that replace the document's (a command line's
/// <c>--name</c>, <c>--app-id</c>, <c>--type</c>, <c>--strategy</c>) and how a component's command is resolved (a CLI
/// resolves a relative <c>.dll</c> against the file's directory).
/// </summary>
public sealed class DeploymentDocumentOptions
{
    /// <summary>Gets or sets the deployment name that replaces the document's.</summary>
    /// <value>The default value is <see langword="null"/>: the document's name.</value>
    public string? Name { get; set; }

    /// <summary>Gets or sets the application id that replaces the document's.</summary>
    /// <value>The default value is <see langword="null"/>: the document's app id.</value>
    public string? AppId { get; set; }

    /// <summary>Gets or sets the deployment type that replaces the document's.</summary>
    /// <value>The default value is <see langword="null"/>: the document's type.</value>
    public DeploymentType? Type { get; set; }

    /// <summary>
    /// Gets or sets the strategy name (as registered in <see cref="StrategySpecRegistry"/>) that replaces the
    /// document's; the document's strategy settings are kept when it names the same strategy and ignored otherwise.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: the document's strategy.</value>
    public string? Strategy { get; set; }

    /// <summary>Gets or sets a function applied to each component's command as written, for example to resolve relative paths.</summary>
    /// <value>The default value is <see langword="null"/>: commands are taken as written.</value>
    public Func<CommandSpec, CommandSpec>? ResolveCommand { get; set; }
}
