namespace Bpi.Orchestration.Server;

/// <summary>Secrets the server creates in its state directory: written whole (temporary file, then renamed) and owner-only.</summary>
internal static class ServerFiles
{
    public static void WriteSecret(string path, string content)
    {
        if (!TryCreateSecret(path, content))
        {
            throw new IOException($"'{path}' already exists.");
        }
    }

    /// <summary>Creates <paramref name="path"/> with <paramref name="content"/>; <see langword="false"/> when another process created it first.</summary>
    public static bool TryCreateSecret(string path, string content)
    {
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }

        try
        {
            File.Move(temporary, path, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary);
            return false;
        }
    }
}
