namespace MqttIm.PushBridge.Tokens;

/// <summary>
/// The push token registry. A (vendor, token) pair belongs to one user at a time: registering it again, from any user,
/// moves it. Implementations: SQLite (embedded), PostgreSQL, MongoDB; all pass <c>PushTokenStoreContract</c>.
/// </summary>
public interface IPushTokenStore
{
    /// <summary>Adds or moves the token (keyed by vendor and token) to <see cref="PushToken.UserId"/>.</summary>
    Task RegisterAsync(PushToken token, CancellationToken cancellationToken);

    /// <summary>Removes the token if it belongs to <paramref name="userId"/>; false when it did not.</summary>
    Task<bool> UnregisterAsync(string userId, string vendor, string token, CancellationToken cancellationToken);

    /// <summary>Removes every token of one device of the user (logout); returns how many.</summary>
    Task<int> UnregisterDeviceAsync(string userId, string deviceId, CancellationToken cancellationToken);

    /// <summary>Removes a token whoever owns it (the vendor said it is dead); false when it was not there.</summary>
    Task<bool> RemoveAsync(string vendor, string token, CancellationToken cancellationToken);

    /// <summary>The user's tokens, ordered by device, then preference.</summary>
    Task<IReadOnlyList<PushToken>> GetForUserAsync(string userId, CancellationToken cancellationToken);

    Task SetPreferencesAsync(PushPreferences preferences, CancellationToken cancellationToken);

    Task<PushPreferences?> GetPreferencesAsync(string userId, CancellationToken cancellationToken);
}
