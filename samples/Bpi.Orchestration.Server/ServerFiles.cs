namespace Bpi.Orchestration.Server;

/// <summary>Secrets the server creates in its state directory: written whole (temporary file, then renamed) and owner-only.</summary>
internal static class ServerFiles
{
    public static void WriteSecret(string path, string content)
    {
        var temporary = path + ".tmp";
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

        File.Move(temporary, path, overwrite: false);
    }
}
