using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Kubernetes;

/// <summary>Validates <see cref="KubernetesRuntimeOptions"/>, listing every problem.</summary>
internal sealed partial class KubernetesRuntimeOptionsValidator : IValidateOptions<KubernetesRuntimeOptions>
{
    public ValidateOptionsResult Validate(string? name, KubernetesRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string T = nameof(KubernetesRuntimeOptions);
        var errors = new List<string>();
        if (options.KubeconfigPath is { } path && !options.InCluster && !File.Exists(path))
        {
            errors.Add($"{T}.KubeconfigPath: '{path}' does not exist; point it at a kubeconfig file, leave it unset for KUBECONFIG or ~/.kube/config, or set InCluster.");
        }

        if (!options.NamespaceTemplate.Contains("{environment}", StringComparison.Ordinal) && !DnsLabel().IsMatch(options.NamespaceTemplate))
        {
            errors.Add($"{T}.NamespaceTemplate: '{options.NamespaceTemplate}' is neither a namespace name nor a template with {{environment}}; use for example 'apps-{{environment}}'.");
        }

        foreach (var (environment, ns) in options.Namespaces)
        {
            if (!DnsLabel().IsMatch(ns) || ns.Length > 63)
            {
                errors.Add($"{T}.Namespaces['{environment}']: '{ns}' is not a namespace name; use 1-63 lowercase letters, digits or '-'.");
            }
        }

        if (options.GatewayParentRef is { } gateway)
        {
            var parts = gateway.Split('/');
            if (parts.Length > 2 || parts.Any(p => !DnsLabel().IsMatch(p)))
            {
                errors.Add($"{T}.GatewayParentRef: '{gateway}' is not a Gateway reference; use 'name' or 'namespace/name' of a Gateway.");
            }
        }

        if (options.NonRootUserId <= 0)
        {
            errors.Add($"{T}.NonRootUserId: {options.NonRootUserId} is not a non-root user id; use a positive user id (0 is root).");
        }

        if (options.TmpSizeMb <= 0)
        {
            errors.Add($"{T}.TmpSizeMb: {options.TmpSizeMb} is not positive; use a positive size.");
        }

        if (options.MaxConflictRetries is < 0 or > 100)
        {
            errors.Add($"{T}.MaxConflictRetries: {options.MaxConflictRetries} is out of range; use 0 to 100.");
        }

        if (options.RequestTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{T}.RequestTimeout: {options.RequestTimeout} is not positive; use a positive duration.");
        }

        if (!IsQuantity(options.VolumeSize))
        {
            errors.Add($"{T}.VolumeSize: '{options.VolumeSize}' is not a Kubernetes quantity; use for example 1Gi.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsQuantity(string? text) => text is not null && Quantity().IsMatch(text);

    [GeneratedRegex("^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")]
    private static partial Regex Quantity();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();
}
