import NIOHTTP1
import StorageKit

/// An HTTP error answer of the control API: `status` with the JSON body `{"error": error, "detail": detail}`.
///
/// The backend throws these for the statuses it chooses; ``init(mapping:)`` is the one place where any other error
/// becomes a status.
struct ControlAPIError: Error, Sendable, Equatable, CustomStringConvertible {
    var status: HTTPResponseStatus
    /// A stable, machine-readable code such as `not_found` or `invalid_project_id`.
    var error: String
    /// A sentence for people.
    var detail: String
    /// Extra response headers (`Allow` on 405).
    var headers: [(String, String)] = []
    /// What went wrong in the daemon's own terms (paths, errno), for the log only; never sent.
    var cause: String? = nil

    static func == (a: ControlAPIError, b: ControlAPIError) -> Bool {
        a.status == b.status && a.error == b.error && a.detail == b.detail
            && a.headers.map { $0.0 + ":" + $0.1 } == b.headers.map { $0.0 + ":" + $0.1 }
    }

    /// The answer's status, code and detail, and the ``cause`` when there is one (for the log).
    var description: String { "\(status.code) \(error): \(detail)" + (cause.map { " (\($0))" } ?? "") }
}

// In an extension, so that Swift still synthesizes the memberwise `init(status:error:detail:headers:cause:)`.
extension ControlAPIError {
    /// Maps any error to an answer: a `ControlAPIError` stays as it is; `StorageError` codes map to
    /// `notFound` → 404, `invalidArgument`/`unsafeName` → 400, `conflict` → 409, anything else → 500; a failed
    /// system call's error (one with an errno) is answered with its cause in words, never with its paths, which
    /// stay in ``cause`` for the log.
    init(mapping error: any Error) {
        switch error {
        case let e as ControlAPIError:
            self = e
        case let e as StorageError:
            switch e.code {
            case .notFound: self.init(status: .notFound, error: "not_found", detail: e.message)
            case .invalidArgument: self.init(status: .badRequest, error: "invalid_argument", detail: e.message)
            case .unsafeName: self.init(status: .badRequest, error: "unsafe_name", detail: e.message)
            case .conflict: self.init(status: .conflict, error: "conflict", detail: e.message)
            case .catalogUnavailable:
                self.init(status: .serviceUnavailable, error: "catalog_unavailable", detail: e.message)
            default:
                // A failed system call's message names the paths it was given: the answer says the cause in words
                // (its errno's), the log the rest.
                self.init(
                    status: .internalServerError,
                    error: "internal_error",
                    detail: e.errno == nil ? e.message : UserWording.reason(e),
                    cause: e.message
                )
            }
        case is CancellationError:
            self.init(status: .serviceUnavailable, error: "shutting_down", detail: "the daemon is stopping")
        default:
            self.init(status: .internalServerError, error: "internal_error", detail: String(describing: error))
        }
    }

    static func badRequest(_ error: String, _ detail: String) -> ControlAPIError {
        ControlAPIError(status: .badRequest, error: error, detail: detail)
    }

    static func notFound(_ detail: String) -> ControlAPIError {
        ControlAPIError(status: .notFound, error: "not_found", detail: detail)
    }
}
