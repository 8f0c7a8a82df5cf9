namespace Bpi.Orchestration.Configuration;

/// <summary>How a deployment document is written.</summary>
public enum DeploymentDocumentFormat
{
    /// <summary>YAML 1.2 (core schema), one document, no aliases.</summary>
    Yaml,

    /// <summary>JSON; comments and trailing commas are allowed.</summary>
    Json,
}
