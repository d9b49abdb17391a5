//! Stable machine codes of the problem+json answers and of refused intents, each
//! with the French sentence a parent reads (the one place that sentence is written:
//! the server answers with it, the phone shows it when it decides offline).
//!
//! The phones switch on these codes: once published, a code never changes meaning.
//! A code a phone does not know yet (a newer server) reads as [`ErrorCode::Unknown`].

vocabulary! {
    /// Every `code` a problem+json answer or a mutation's result may carry.
    ErrorCode {
        // Input
        InvalidBody => "invalid_body", "Les informations envoyées sont incomplètes ou mal formées.";
        InvalidField => "invalid_field", "Un champ est à corriger.";
        PayloadTooLarge => "payload_too_large", "Les informations envoyées sont trop volumineuses.";
        UnsupportedMediaType => "unsupported_media_type", "Les informations doivent être envoyées au format JSON.";
        MethodNotAllowed => "method_not_allowed", "Cette action n'est pas possible à cette adresse.";
        // Accounts
        InvalidCredentials => "invalid_credentials", "Adresse e-mail ou mot de passe incorrect.";
        Unauthenticated => "unauthenticated", "Vous devez vous connecter pour accéder à cette page.";
        TokenExpired => "token_expired", "Votre session a expiré, veuillez vous reconnecter.";
        InvalidToken => "invalid_token", "Votre session n'est plus valide, veuillez vous reconnecter.";
        RefreshTokenReused => "refresh_token_reused", "Par sécurité, votre session a été fermée sur cet appareil. Veuillez vous reconnecter.";
        EmailTaken => "email_taken", "Un compte existe déjà avec cette adresse e-mail. Utilisez « Mot de passe oublié » pour vous connecter.";
        WeakPassword => "weak_password", "Ce mot de passe est trop simple.";
        ResetTokenInvalid => "reset_token_invalid", "Ce lien de réinitialisation n'est plus valable. Refaites une demande de mot de passe oublié.";
        AccountDisabled => "account_disabled", "Ce compte est désactivé. Contactez les services de la communauté de communes.";
        Forbidden => "forbidden", "Vous n'avez pas accès à cette fonction.";
        RateLimited => "rate_limited", "Trop de tentatives. Réessayez dans quelques minutes.";
        // Dossier and bookings
        NotFound => "not_found", "Cet élément est introuvable.";
        DossierPending => "dossier_pending", "Votre dossier est en attente de validation par les services : vous pourrez réserver dès qu'il sera validé.";
        SessionFull => "session_full", "Il n'y a plus de place pour cette journée. Vous pouvez demander une place sur la liste d'attente.";
        BookingClosed => "booking_closed", "Les réservations ne sont pas ouvertes pour cette date, ou sont closes.";
        CancelDeadlinePassed => "cancel_deadline_passed", "OUPS ! Vous n'avez pas annulé dans les délais : l'annulation est enregistrée mais la journée vous sera facturée.";
        DocumentRequired => "document_required", "Un document obligatoire est à fournir. Envoyez-le depuis « Mes démarches » ; dès sa validation vous pourrez réserver.";
        NotEligible => "not_eligible", "Cette activité n'est pas accessible à votre enfant (âge ou niveau scolaire).";
        AlreadyBooked => "already_booked", "Votre enfant est déjà inscrit, ou sur liste d'attente, pour cette journée.";
        PlacesAvailable => "places_available", "Il reste des places : réservez directement cette journée.";
        WaitlistUnavailable => "waitlist_unavailable", "Cette activité ne propose pas de liste d'attente.";
        InvalidMutation => "invalid_mutation", "Cette action n'est pas reconnue par le serveur. Mettez l'application à jour.";
        TooManyMutations => "too_many_mutations", "Trop d'actions envoyées à la fois.";
        UploadNotReady => "upload_not_ready", "Le document joint n'est pas encore arrivé : l'action sera renvoyée après lui.";
        UploadRefused => "upload_refused", "Le document joint a été refusé : l'action ne peut pas être envoyée sans lui.";
        AlreadyValidated => "already_validated", "Ce dossier est déjà validé.";
        Conflict => "conflict", "Cette action n'est plus possible : la situation a changé entre-temps.";
        // Documents and uploads
        UploadTooLarge => "upload_too_large", "Ce document est trop lourd.";
        QuotaReached => "quota_reached", "Limite atteinte pour votre famille : terminez les envois en cours ou réessayez demain.";
        UnsupportedFileType => "unsupported_file_type", "Ce fichier n'est ni une photo JPEG ou PNG ni un PDF : document refusé.";
        FileTypeMismatch => "file_type_mismatch", "Le contenu du fichier ne correspond pas à son nom : document refusé.";
        ImageTooLarge => "image_too_large", "L'image est trop grande : document refusé.";
        DamagedFile => "damaged_file", "Le fichier est incomplet ou abîmé : document refusé.";
        UnknownDocumentType => "unknown_document_type", "Ce type de document est inconnu.";
        UploadOffsetMismatch => "upload_offset_mismatch", "Reprise de l'envoi au mauvais endroit.";
        ChecksumMismatch => "checksum_mismatch", "Le morceau reçu est abîmé (somme de contrôle différente) : renvoyez-le.";
        TusVersionUnsupported => "tus_version_unsupported", "Envoi refusé : l'application doit utiliser le protocole tus 1.0.0.";
        // Billing
        BillingRunOutdated => "billing_run_outdated", "Les réservations ou les pointages ont changé depuis l'aperçu : il a été recalculé, vérifiez-le avant d'émettre les factures.";
        BillingRunClosed => "billing_run_closed", "Cette facturation a déjà été émise, ou remplacée par un aperçu plus récent.";
        NothingToCredit => "nothing_to_credit", "Ces lignes ont déjà fait l'objet d'un avoir.";
        // Payments
        UnpaidInvoices => "unpaid_invoices", "Des factures échues restent à payer : réglez-les depuis « Mes factures » (paiement en ligne) ou auprès de la régie pour réserver de nouveau.";
        InvoiceSettled => "invoice_settled", "Cette facture n'a plus rien à payer.";
        AmountTooSmall => "amount_too_small", "Le montant restant est trop faible pour un paiement en ligne : réglez-le auprès de la régie.";
        OnlinePaymentUnavailable => "online_payment_unavailable", "Cette régie ne propose pas encore le paiement en ligne : réglez la facture comme indiqué dessus.";
        // Server side
        Internal => "internal", "Une erreur inattendue est survenue. Réessayez plus tard.";
        Unavailable => "unavailable", "Le service est momentanément surchargé. Réessayez dans quelques instants.";
        ProviderUnavailable => "provider_unavailable", "Le service de l'État (API Particulier) ne répond pas pour le moment : réessayez plus tard, ou saisissez le quotient familial à la main.";
        @other Unknown => "unknown", "Le serveur a refusé cette action.";
    }
}

impl ErrorCode {
    /// The French sentence, completed where the code takes words of its own (the
    /// labels of the missing documents).
    pub fn detail_fr(self, extra: Option<&str>) -> String {
        match (self, extra) {
            (ErrorCode::DocumentRequired, Some(labels)) => format!(
                "Document obligatoire à fournir : {labels}. Envoyez-le depuis « Mes démarches » ; dès sa validation vous pourrez réserver."
            ),
            (ErrorCode::InvalidField, Some(fields)) => {
                format!("Un champ est à corriger : {fields}.")
            }
            _ => self.label_fr().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_name_is_the_stable_code() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, *code);
        }
    }

    #[test]
    fn codes_are_unique_and_said_in_french() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate code {code}");
            assert!(code.label_fr().ends_with('.'), "{code}");
        }
    }

    #[test]
    fn a_newer_servers_code_is_unknown_not_an_error() {
        let code: ErrorCode = serde_json::from_str("\"invoice_overdue\"").unwrap();
        assert_eq!(code, ErrorCode::Unknown);
        assert_eq!(
            "invoice_overdue".parse::<ErrorCode>(),
            Ok(ErrorCode::Unknown)
        );
    }

    #[test]
    fn missing_documents_are_named() {
        let detail = ErrorCode::DocumentRequired.detail_fr(Some("Carnet de vaccination"));
        assert!(detail.starts_with("Document obligatoire à fournir : Carnet de vaccination."));
        assert_eq!(
            ErrorCode::SessionFull.detail_fr(Some("ignored")),
            ErrorCode::SessionFull.label_fr()
        );
    }
}
